package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Mode says whether the operator changes the instances or only says what it would do.
// +kubebuilder:validation:Enum=Apply;Plan
type Mode string

const (
	// ModeApply detaches and reboots.
	ModeApply Mode = "Apply"
	// ModePlan observes, runs the pre-flight checks and writes status.plan; it sends no
	// DetachKeyPair and no real reboot (only RebootInstances with DryRun).
	ModePlan Mode = "Plan"
)

// Plan is what an Apply of the spec would do, as observed by the latest pass in mode Plan.
// It stays after the switch to Apply, so the outcome can be held against it; the next plan
// replaces it.
type Plan struct {
	// Generation is the object generation the plan was made for.
	Generation int64 `json:"generation"`
	// MadeAt is when the observation behind the plan was made.
	MadeAt metav1.Time `json:"madeAt"`
	// Changes counts the instances whose key pair an Apply would change: detach from (a
	// KeyPairDetachment) or attach to (a KeyPairAttachment).
	Changes int32 `json:"changes"`
	// ChangeCalls is the number of DetachKeyPair or AttachKeyPair calls (at most 50
	// instances each).
	ChangeCalls int32 `json:"changeCalls"`
	// Reboot counts the instances that would be rebooted (Running ones this object changes,
	// plus those it changed earlier and still owes a reboot).
	Reboot int32 `json:"reboot"`
	// RebootWaves is ⌈reboot / spec.reboot.maxConcurrent⌉: how many rounds the rollout takes.
	RebootWaves int32 `json:"rebootWaves"`
	// Unchanged counts the instances that need nothing (already as the object wants them).
	Unchanged int32 `json:"unchanged"`
	// Discrepancies counts the instances an Apply would leave alone and report as failed
	// (Windows, not found, another key, locked, no alternate access).
	Discrepancies int32 `json:"discrepancies"`
	// RebootDuration is the time one reboot is expected to take: measured by this manager on
	// earlier reboots in the region when RebootDurationMeasured, otherwise an assumption.
	RebootDuration metav1.Duration `json:"rebootDuration"`
	// RebootDurationMeasured says whether RebootDuration comes from reboots this manager saw.
	// +optional
	RebootDurationMeasured bool `json:"rebootDurationMeasured,omitempty"`
	// EstimatedDuration is the expected time of the whole Apply, from the ECS call budget
	// (--ecs-qps), spec.reboot.maxConcurrent and RebootDuration, not counting time spent
	// waiting for a reboot window.
	EstimatedDuration metav1.Duration `json:"estimatedDuration"`
	// NextWindowOpening is when reboots could start, when spec.reboot.window is closed now.
	// +optional
	NextWindowOpening *metav1.Time `json:"nextWindowOpening,omitempty"`
	// Summary is the plan in one line, shown by kubectl as the PLAN column.
	// +kubebuilder:validation:MaxLength=256
	Summary string `json:"summary"`
}
