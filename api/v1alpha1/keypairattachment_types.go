package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KeyPairAttachmentSpec says: in region RegionID, the instances InstanceIDs must carry the key
// pair KeyPairName, replacing only the key pairs named in ReplaceKeyPairs. Rotation K1 → K2 is
// an attachment of K2 with replaceKeyPairs [K1]: ECS replaces a bound key on attach, so one
// reboot per instance makes it effective.
type KeyPairAttachmentSpec struct {
	// The fields a detachment has, with the same validation: one struct, so that a field
	// added for one kind (and the manager's parsing of it) serves both. keyPairName is the
	// key pair to put on.
	KeyPairDetachmentSpec `json:",inline"`

	// ReplaceKeyPairs are the key pairs this object may replace; ["*"] replaces any. An
	// instance that carries another key pair is left alone (KeyPairMismatch). Absent: only
	// instances without a key pair get one.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="!('*' in self) || size(self) == 1",message="\"*\" (any key pair) stands alone in replaceKeyPairs"
	ReplaceKeyPairs []string `json:"replaceKeyPairs,omitempty"`
}

// ReplaceAnyKeyPair in ReplaceKeyPairs lets an attachment replace whatever key pair it finds.
const ReplaceAnyKeyPair = "*"

// MayReplace reports whether the spec lets the attachment replace key pair name.
func (s *KeyPairAttachmentSpec) MayReplace(name string) bool {
	for _, r := range s.ReplaceKeyPairs {
		if r == ReplaceAnyKeyPair || r == name {
			return true
		}
	}
	return false
}

// KeyPairAttachmentStatus is the observed state, one entry per spec instance. It has a
// detachment's shape with the attachment's own names (attached, attach, attachingSince).
type KeyPairAttachmentStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Attached, Rebooted (only with reboot enabled), PreflightPassed and
	// Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Summary counts the instances by outcome.
	// +optional
	Summary AttachmentSummary `json:"summary,omitempty"`

	// Instances holds the outcome per instance, sorted by instanceId; atomic for the reason
	// KeyPairDetachmentStatus gives.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Instances []AttachmentInstanceStatus `json:"instances,omitempty"`

	// Plan is the latest plan made in spec.mode Plan; its detach counts are the attaches.
	// +optional
	Plan *Plan `json:"plan,omitempty"`
}

// AttachmentSummary counts instances: attached = Attached=True (AlreadyAttached included).
type AttachmentSummary struct {
	Total    int32 `json:"total"`
	Attached int32 `json:"attached"`
	Rebooted int32 `json:"rebooted"`
	Failed   int32 `json:"failed"`
	Pending  int32 `json:"pending"`
}

// AttachmentInstanceStatus is the outcome for one instance.
type AttachmentInstanceStatus struct {
	// InstanceID is the ECS instance ID.
	InstanceID string `json:"instanceId"`

	// LastRequestID is the ECS RequestId of the latest call that changed this instance.
	// +optional
	LastRequestID string `json:"lastRequestId,omitempty"`

	// Attach is this object's own attach of the key pair to the instance: the proof that
	// makes the instance's reboot this object's to do.
	// +optional
	Attach *DetachRecord `json:"attach,omitempty"`

	// AttachingSince is when this object's Attaching marker was written, before its call was
	// sent; present only while the attach's outcome is unknown.
	// +optional
	AttachingSince *metav1.Time `json:"attachingSince,omitempty"`

	// AttachRetries counts answers for this instance that left its attach undecided.
	// +optional
	AttachRetries int32 `json:"attachRetries,omitempty"`

	// LeftAloneBy names ("namespace/name", with the kind when it is the other kind) the
	// objects that want the opposite for this instance and left it alone because this object
	// holds it; the change condition's message says the same to people.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	LeftAloneBy []string `json:"leftAloneBy,omitempty"`

	// Reboot records the reboot that makes the current attach take effect.
	// +optional
	Reboot *RebootRecord `json:"reboot,omitempty"`

	// Conditions: Attached and, with reboot enabled, Rebooted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	Conditions []InstanceCondition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kpa
// +kubebuilder:printcolumn:name="KeyPair",type=string,JSONPath=`.spec.keyPairName`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.regionId`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.summary.total`
// +kubebuilder:printcolumn:name="Attached",type=integer,JSONPath=`.status.summary.attached`
// +kubebuilder:printcolumn:name="Rebooted",type=integer,JSONPath=`.status.summary.rebooted`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.summary.failed`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.status.plan.summary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// KeyPairAttachment declares that a set of ECS instances must carry a key pair.
type KeyPairAttachment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KeyPairAttachmentSpec   `json:"spec"`
	Status KeyPairAttachmentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// KeyPairAttachmentList is a list of KeyPairAttachment.
type KeyPairAttachmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KeyPairAttachment `json:"items"`
}
