package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// summarize derives the summary and the object conditions from the instances (design.md §2),
// and stamps observedGeneration. It is pure: calling it twice gives the same status.
func (run *run) summarize() {
	obj, k := run.obj, run.kind
	gen := obj.GetGeneration()
	obj.Status.Instances = run.table.statuses()
	obj.Status.ObservedGeneration = gen

	var s ecsv1alpha1.Summary
	var changeFailed, rebootFailed, halted, stopped, needReboot, unsettledReboot int
	s.Total = int32(len(run.table.ordered))
	for _, i := range run.table.ordered {
		det := i.condition(k.condition)
		reb := i.condition(ecsv1alpha1.ConditionRebooted)
		failed := false
		switch det.Status {
		case metav1.ConditionTrue:
			s.Detached++ // Attached, for an attachment (kinds.go)
		case metav1.ConditionFalse:
			changeFailed++
			failed = true
		}
		if reb != nil {
			switch ecsv1alpha1.InstanceReasonInfo(ecsv1alpha1.ConditionRebooted, reb.Reason).Outcome {
			case ecsv1alpha1.OutcomeDone:
				s.Rebooted++
				needReboot++
			case ecsv1alpha1.OutcomeFailed:
				rebootFailed++
				needReboot++
				failed = true
			case ecsv1alpha1.OutcomeHeld:
				halted++
				needReboot++
			case ecsv1alpha1.OutcomeDeferred:
				stopped++
			case ecsv1alpha1.OutcomeNotOwed:
			default:
				unsettledReboot++
				needReboot++
			}
		}
		if failed {
			s.Failed++
		}
	}
	s.Pending = run.pendingCount()
	obj.Status.Summary = s

	set := func(t string, status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
			Type: t, Status: status, Reason: reason, ObservedGeneration: gen,
			Message: ecsv1alpha1.TruncateMessage(message, ecsv1alpha1.MaxObjectMessageLength)})
	}

	changePending := int(s.Total) - int(s.Detached) - changeFailed
	switch {
	case changeFailed > 0:
		set(k.condition, metav1.ConditionFalse, ecsv1alpha1.ReasonPartiallyFailed,
			fmt.Sprintf("%d of %d instances cannot be %s; see status.instances", changeFailed, s.Total, k.past))
	case changePending > 0:
		set(k.condition, metav1.ConditionUnknown, ecsv1alpha1.ReasonInProgress,
			fmt.Sprintf("%d of %d instances %s or already so", s.Detached, s.Total, k.past))
	default:
		set(k.condition, metav1.ConditionTrue, k.allDone,
			fmt.Sprintf(k.allDoneNote, obj.Spec.KeyPairName, s.Total))
	}

	if obj.Spec.Reboot.Enabled {
		switch {
		case rebootFailed > 0 || halted > 0:
			set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonPartiallyFailed,
				fmt.Sprintf("%d reboots failed, %d not started (rollout halted)", rebootFailed, halted))
		case unsettledReboot > 0 || changePending > 0:
			set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonInProgress,
				fmt.Sprintf("%d of %d reboots done", s.Rebooted, needReboot))
		default:
			set(ecsv1alpha1.ConditionRebooted, metav1.ConditionTrue, ecsv1alpha1.ReasonAllRebooted,
				fmt.Sprintf("%d rebooted; %d stopped instances pick the change up at their next start", s.Rebooted, stopped))
		}
	} else {
		meta.RemoveStatusCondition(&obj.Status.Conditions, ecsv1alpha1.ConditionRebooted)
	}

	run.setPreflightCondition(set)
	ready, stalled := run.readiness(changeFailed, rebootFailed, halted, changePending+unsettledReboot)
	set(ecsv1alpha1.ConditionReady, ready.Status, ready.Reason, ready.Message)
	set(ecsv1alpha1.ConditionStalled, stalled.Status, stalled.Reason, stalled.Message)
	run.r.recordInstanceGauges(obj, s)
}

// pendingCount is the summary's pending: instances neither Detached=True nor failed, plus
// instances waiting for their reboot (Unknown, or held back by a halted rollout).
func (run *run) pendingCount() int32 {
	var n int32
	for _, i := range run.table.ordered {
		det := i.condition(run.kind.condition)
		reb := i.condition(ecsv1alpha1.ConditionRebooted)
		switch {
		case det.Status == metav1.ConditionFalse:
		case reb != nil && ecsv1alpha1.InstanceReasonInfo(ecsv1alpha1.ConditionRebooted, reb.Reason).Outcome == ecsv1alpha1.OutcomeFailed:
		case det.Status == metav1.ConditionUnknown:
			n++
		case reb != nil && (reb.Status == metav1.ConditionUnknown ||
			ecsv1alpha1.InstanceReasonInfo(ecsv1alpha1.ConditionRebooted, reb.Reason).Outcome == ecsv1alpha1.OutcomeHeld):
			n++
		}
	}
	return n
}

// readiness decides Ready and Stalled. Stalled is True only when nothing can progress without
// a human; while other instances still progress, failures show as Ready=False/InProgress.
func (run *run) readiness(changeFailed, rebootFailed, halted, unsettled int) (ready, stalled metav1.Condition) {
	notStalled := metav1.Condition{Status: metav1.ConditionFalse, Reason: ecsv1alpha1.ReasonProgressing,
		Message: "Nothing needs a human"}
	notReady := func(reason, message string) metav1.Condition {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: reason, Message: message}
	}
	stalledBy := func(c metav1.Condition) metav1.Condition {
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: c.Reason, Message: c.Message}
	}
	if p := run.problem; p != nil {
		ready = notReady(p.Reason, p.Message)
		if p.Reason == ecsv1alpha1.ReasonSuspended || p.Reason == ecsv1alpha1.ReasonInProgress {
			return ready, notStalled
		}
		return ready, stalledBy(ready)
	}
	if run.planning() {
		msg := "spec.mode is Plan: nothing is changed; set it to Apply to proceed"
		if p := run.obj.Status.Plan; p != nil {
			msg = "Plan: " + p.Summary + "; see status.plan and status.instances, then set spec.mode to Apply to proceed"
		}
		return notReady(ecsv1alpha1.ReasonPlanned, msg), notStalled
	}
	waiting := run.waitingForWindow()
	switch {
	case halted > 0:
		ready = notReady(ecsv1alpha1.ReasonRolloutHalted, fmt.Sprintf(
			"Rollout halted: %d reboots failed, more than spec.reboot.maxFailures (%d); %d reboots not started. "+
				"Look at the failed instances, then raise maxFailures to resume", rebootFailed, run.obj.Spec.Reboot.MaxFailures, halted))
		return ready, stalledBy(ready)
	case waiting > 0 && waiting == unsettled:
		return run.windowReadiness(waiting), notStalled
	case unsettled > 0:
		msg := fmt.Sprintf("%d instances still in progress", unsettled)
		if changeFailed+rebootFailed > 0 {
			msg += fmt.Sprintf("; %d failed so far", changeFailed+rebootFailed)
		}
		return notReady(ecsv1alpha1.ReasonInProgress, msg), notStalled
	case changeFailed+rebootFailed > 0:
		ready = notReady(ecsv1alpha1.ReasonPartiallyFailed, fmt.Sprintf(
			"%d instances failed (%d %s, %d reboot); see status.instances and fix spec.instanceIds or the instances",
			changeFailed+rebootFailed, changeFailed, run.kind.verb, rebootFailed))
		return ready, stalledBy(ready)
	}
	return metav1.Condition{Status: metav1.ConditionTrue, Reason: ecsv1alpha1.ReasonReady,
		Message: "Nothing left to do"}, notStalled
}
