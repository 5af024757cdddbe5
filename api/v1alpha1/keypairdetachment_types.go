package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KeyPairDetachmentSpec says: in region RegionID, the instances InstanceIDs must not carry the
// key pair KeyPairName.
type KeyPairDetachmentSpec struct {
	// RegionID is the ECS region of the instances, such as cn-hangzhou.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Pattern=`^[a-z]{2,}(-[a-z0-9]+)+$`
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="regionId is immutable: create a new object for another region"
	RegionID string `json:"regionId"`

	// KeyPairName is the SSH key pair to take off the instances (a KeyPairAttachment: to put on).
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=2
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="keyPairName is immutable: create a new object for another key pair"
	KeyPairName string `json:"keyPairName"`

	// InstanceIDs are the ECS instances that must not carry the key pair (a KeyPairAttachment:
	// that must carry it).
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:Pattern=`^i-[a-z0-9]{1,62}$`
	// +kubebuilder:validation:items:MaxLength=64
	// +listType=set
	InstanceIDs []string `json:"instanceIds"`

	// CredentialsSecretRef names a Secret in this object's namespace with the keys accessKeyId,
	// accessKeySecret and optionally securityToken. Absent: the manager's own identity.
	// +optional
	CredentialsSecretRef *SecretReference `json:"credentialsSecretRef,omitempty"`

	// Reboot asks for a reboot of the instances this object changed (detached the key pair
	// from, or attached it to), so the change takes effect. Absent: no reboot.
	// +optional
	// +kubebuilder:default={}
	Reboot RebootSpec `json:"reboot,omitempty"`

	// Mode is Apply (default: change the instances) or Plan (observe, run the pre-flight
	// checks and write status.plan; change nothing).
	// +optional
	// +kubebuilder:default=Apply
	Mode Mode `json:"mode,omitempty"`

	// RequireAlternateAccess keeps the key on every instance without a running Cloud
	// Assistant agent: with no key, no password and no agent, nobody could log in after the
	// reboot. Those instances report Detached=False/NoAlternateAccess.
	// +optional
	RequireAlternateAccess bool `json:"requireAlternateAccess,omitempty"`

	// Suspend stops every cloud call for this object until it is unset.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// SecretReference names a Secret in the object's own namespace.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// RebootSpec shapes the reboot phase. Fields omit their zero values so that Go clients leave
// them to the API server's defaults, like kubectl users do.
type RebootSpec struct {
	// Enabled turns the reboot phase on. Default false: detach only.
	// +optional
	// +kubebuilder:default=false
	Enabled bool `json:"enabled,omitempty"`

	// ForceStop power-cycles instead of shutting down gracefully.
	// +optional
	// +kubebuilder:default=false
	ForceStop bool `json:"forceStop,omitempty"`

	// MaxConcurrent is the most instances rebooting at once.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MaxConcurrent int32 `json:"maxConcurrent,omitempty"`

	// MaxFailures is how many failed reboots the rollout tolerates before it halts.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxFailures int32 `json:"maxFailures,omitempty"`

	// Timeout is how long an instance may take to run again before its reboot counts as failed:
	// Go duration syntax (90s, 15m, 1h30m; no days), 1m..24h. The pattern admits only what Go
	// parses, because one object the manager cannot decode stops it listing every object.
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^([0-9]{1,6}(\.[0-9]{1,9})?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="timeout must be between 1m and 24h, in Go duration syntax such as 90s, 15m or 1h30m"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Window limits when new reboots start: only inside one of its openings. Reboots already
	// started run to their end, and detaches happen whenever. Absent: reboots start at any time.
	// +optional
	Window *RebootWindow `json:"window,omitempty"`
}

// KeyPairDetachmentStatus is the observed state, one entry per spec instance.
type KeyPairDetachmentStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Detached, Rebooted (only with reboot enabled), PreflightPassed and
	// Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Summary counts the instances by outcome.
	// +optional
	Summary Summary `json:"summary,omitempty"`

	// Plan is the latest plan made in spec.mode Plan.
	// +optional
	Plan *Plan `json:"plan,omitempty"`

	// Instances holds the outcome per instance, sorted by instanceId.
	// Atomic: only the operator writes it, always whole. As a map list the API server would
	// track every entry's every field in metadata.managedFields, which at 1,000 instances
	// doubled the stored object.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Instances []InstanceStatus `json:"instances,omitempty"`
}

// Summary counts instances; see design.md for the precise rules.
type Summary struct {
	Total    int32 `json:"total"`
	Detached int32 `json:"detached"`
	Rebooted int32 `json:"rebooted"`
	Failed   int32 `json:"failed"`
	Pending  int32 `json:"pending"`
}

// InstanceStatus is the outcome for one instance.
type InstanceStatus struct {
	// InstanceID is the ECS instance ID.
	InstanceID string `json:"instanceId"`

	// LastRequestID is the ECS RequestId of the latest call that changed this instance.
	// +optional
	LastRequestID string `json:"lastRequestId,omitempty"`

	// Detach is this object's own detach of the key pair from the instance: the proof that
	// makes the instance's reboot this object's to do.
	// +optional
	Detach *DetachRecord `json:"detach,omitempty"`

	// DetachingSince is when this object's Detaching marker was written, before its call was
	// sent; present only while the detach's outcome is unknown. After a crash that lost the
	// answer, it dates the detach this object then claims.
	// +optional
	DetachingSince *metav1.Time `json:"detachingSince,omitempty"`

	// DetachRetries counts answers for this instance that left its detach undecided (a
	// transient or unknown ECS code); past a bound the code is reported as a failure.
	// +optional
	DetachRetries int32 `json:"detachRetries,omitempty"`

	// LeftAloneBy names ("namespace/name", with the kind when it is the other kind) the
	// objects that want the opposite for this instance and left it alone because this object
	// holds it; the change condition's message says the same to people.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	LeftAloneBy []string `json:"leftAloneBy,omitempty"`

	// Reboot records the reboot that makes the current detach take effect.
	// +optional
	Reboot *RebootRecord `json:"reboot,omitempty"`

	// Conditions: Detached and, with reboot enabled, Rebooted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	Conditions []InstanceCondition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kpd
// +kubebuilder:printcolumn:name="KeyPair",type=string,JSONPath=`.spec.keyPairName`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.regionId`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.summary.total`
// +kubebuilder:printcolumn:name="Detached",type=integer,JSONPath=`.status.summary.detached`
// +kubebuilder:printcolumn:name="Rebooted",type=integer,JSONPath=`.status.summary.rebooted`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.summary.failed`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.status.plan.summary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// KeyPairDetachment declares that a set of ECS instances must not carry a key pair.
type KeyPairDetachment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KeyPairDetachmentSpec   `json:"spec"`
	Status KeyPairDetachmentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// KeyPairDetachmentList is a list of KeyPairDetachment.
type KeyPairDetachmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KeyPairDetachment `json:"items"`
}
