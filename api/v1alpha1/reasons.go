package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Outcome is what a per-instance reason counts as in the object's summary and conditions.
type Outcome int

const (
	// OutcomeWaiting: work left that the operator will do.
	OutcomeWaiting Outcome = iota
	// OutcomeDone: the change is made (and, for Rebooted, in effect).
	OutcomeDone
	// OutcomeFailed: a human must look; nothing more is tried for it.
	OutcomeFailed
	// OutcomeHeld: not started because the rollout is halted; resumes with maxFailures.
	OutcomeHeld
	// OutcomeDeferred: takes effect without the operator (a stopped instance's next start).
	OutcomeDeferred
	// OutcomeNotOwed: nothing to do for it.
	OutcomeNotOwed
)

// +kubebuilder:object:generate=false

// ReasonInfo is everything the operator and its tools say about one per-instance reason.
type ReasonInfo struct {
	Status  metav1.ConditionStatus
	Outcome Outcome
	// Meaning is the reason in a user's words, for reports such as the demo's.
	Meaning string
}

// InstanceReasons is the one table of per-instance reasons, by condition type then reason:
// the summary, the demo's report and the documentation read it, so a new reason is added
// here and nowhere else.
var InstanceReasons = map[string]map[string]ReasonInfo{
	ConditionDetached: {
		ReasonDetached:         {metav1.ConditionTrue, OutcomeDone, "the operator took the key off"},
		ReasonNotAttached:      {metav1.ConditionTrue, OutcomeDone, "the key was not on them (or someone else took it off)"},
		ReasonPending:          pendingChange,
		ReasonDetaching:        {metav1.ConditionUnknown, OutcomeWaiting, "detach sent; waiting for its outcome"},
		ReasonWindowsInstance:  windowsInstance,
		ReasonKeyPairMismatch:  {metav1.ConditionFalse, OutcomeFailed, "another key pair on them, left alone; remove from spec"},
		ReasonInstanceNotFound: instanceNotFound,
		ReasonInstanceLocked:   instanceLocked,
		ReasonDetachFailed:     {metav1.ConditionFalse, OutcomeFailed, "ECS refused the detach; the message carries the code"},
		ReasonWouldDetach:      {metav1.ConditionUnknown, OutcomeWaiting, "plan: carries the key; an Apply detaches it"},
		ReasonNoAlternateAccess: {metav1.ConditionFalse, OutcomeFailed,
			"no running Cloud Assistant and spec.requireAlternateAccess: key left on"},
		ReasonClaimedByOther: claimedByOther,
	},
	ConditionAttached: {
		ReasonAttached:         {metav1.ConditionTrue, OutcomeDone, "the operator put the key on (replacing one it may replace)"},
		ReasonAlreadyAttached:  {metav1.ConditionTrue, OutcomeDone, "the key was already on them; no reboot needed"},
		ReasonPending:          pendingChange,
		ReasonAttaching:        {metav1.ConditionUnknown, OutcomeWaiting, "attach sent; waiting for its outcome"},
		ReasonWindowsInstance:  windowsInstance,
		ReasonKeyPairMismatch:  {metav1.ConditionFalse, OutcomeFailed, "a key pair spec.replaceKeyPairs does not list, left alone"},
		ReasonInstanceNotFound: instanceNotFound,
		ReasonInstanceLocked:   instanceLocked,
		ReasonAttachFailed:     {metav1.ConditionFalse, OutcomeFailed, "ECS refused the attach; the message carries the code"},
		ReasonWouldAttach:      {metav1.ConditionUnknown, OutcomeWaiting, "plan: an Apply attaches the key (replacing one it may replace)"},
		ReasonNoAlternateAccess: {metav1.ConditionFalse, OutcomeFailed,
			"no running Cloud Assistant and spec.requireAlternateAccess: left as they are"},
		ReasonClaimedByOther: claimedByOther,
	},
	ConditionRebooted: {
		ReasonRebooted:          {metav1.ConditionTrue, OutcomeDone, "rebooted, Running again: the change is in effect"},
		ReasonRebootedByOther:   {metav1.ConditionTrue, OutcomeDone, "another object naming them rebooted them after the change"},
		ReasonPending:           {metav1.ConditionUnknown, OutcomeWaiting, "waiting for a reboot slot, the change or another object"},
		ReasonRebootRequested:   {metav1.ConditionUnknown, OutcomeWaiting, "reboot requested"},
		ReasonRebooting:         {metav1.ConditionUnknown, OutcomeWaiting, "rebooting"},
		ReasonNotRequired:       {metav1.ConditionFalse, OutcomeNotOwed, "this operator changed no key on them, so no reboot"},
		ReasonInstanceStopped:   {metav1.ConditionFalse, OutcomeDeferred, "stopped: takes effect at their next start; never started"},
		ReasonRebootFailed:      {metav1.ConditionFalse, OutcomeFailed, "reboot failed or exceeded spec.reboot.timeout"},
		ReasonRebootUnconfirmed: {metav1.ConditionFalse, OutcomeFailed, "answer lost, no sign of a reboot: check them; never asked twice"},
		ReasonRolloutHalted:     {metav1.ConditionFalse, OutcomeHeld, "held back: more than spec.reboot.maxFailures failed"},
		ReasonWouldReboot:       {metav1.ConditionUnknown, OutcomeWaiting, "plan: an Apply reboots them"},
		ReasonWaitingForWindow:  {metav1.ConditionUnknown, OutcomeWaiting, "due, waiting for spec.reboot.window to open"},
	},
}

// The reasons Detached and Attached share.
var (
	pendingChange    = ReasonInfo{metav1.ConditionUnknown, OutcomeWaiting, "not tried yet, or tried again after a refusal"}
	windowsInstance  = ReasonInfo{metav1.ConditionFalse, OutcomeFailed, "Windows: key pairs are Linux-only; remove from spec"}
	instanceNotFound = ReasonInfo{metav1.ConditionFalse, OutcomeFailed, "not in the region (released? typo?); remove from spec"}
	instanceLocked   = ReasonInfo{metav1.ConditionFalse, OutcomeFailed, "ECS holds an operation lock on them; retried at the next resync"}
	// claimedByOther is the same conflict seen from either kind.
	claimedByOther = ReasonInfo{metav1.ConditionFalse, OutcomeFailed,
		"another object claimed them first and wants another key state; remove from one spec"}
)

// InstanceReasonInfo looks a reason up; an unknown one (written by a newer version) is
// treated as work left, which never claims more than is known.
func InstanceReasonInfo(conditionType, reason string) ReasonInfo {
	if info, ok := InstanceReasons[conditionType][reason]; ok {
		return info
	}
	return ReasonInfo{Status: metav1.ConditionUnknown, Outcome: OutcomeWaiting, Meaning: "see status.instances"}
}
