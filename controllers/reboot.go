package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// maxRebootRequests bounds the requests per instance and detach: the second is sent only when
// the first provably never left the operator.
const maxRebootRequests = 2

// rebootSettled reports whether a Rebooted reason is final for the current detach: nothing
// (a toggle of reboot.enabled, a halt, a restart, another object) reboots it again.
func rebootSettled(reason string) bool {
	switch reason {
	case ecsv1alpha1.ReasonRebooted, ecsv1alpha1.ReasonRebootedByOther, ecsv1alpha1.ReasonRebootFailed,
		ecsv1alpha1.ReasonRebootUnconfirmed, ecsv1alpha1.ReasonInstanceStopped:
		return true
	}
	return false
}

// rebootInFlight reports whether a request may be on its way or in effect.
func rebootInFlight(reason string) bool {
	return reason == ecsv1alpha1.ReasonRebootRequested || reason == ecsv1alpha1.ReasonRebooting
}

// mayStartReboots: new reboots start only with reboot enabled, in mode Apply and the object not
// being deleted; reboots in flight are settled whatever the spec says. The window decides when
// (reboot_window.go).
func (run *run) mayStartReboots() bool {
	return run.obj.Spec.Reboot.Enabled && run.obj.GetDeletionTimestamp() == nil && !run.planning()
}

// decideDuties works out, for every instance not in flight and not settled, who reboots it
// (reboot_duty.go). It needs no ECS call: proofs and peers are in statuses.
func (run *run) decideDuties() {
	for _, i := range run.table.ordered {
		i.duty = nil
		reason := i.reason(ecsv1alpha1.ConditionRebooted)
		if rebootInFlight(reason) || rebootSettled(reason) {
			continue
		}
		switch i.changeReason() {
		case run.kind.done, run.kind.already:
			d := decideRebootDuty(i.status.Detach, run.peers[i.id()])
			i.duty = &d
		}
	}
}

// rebootDue reports whether this object is to reboot the instance and has not asked yet.
func rebootDue(i *instance) bool {
	return i.duty != nil && i.duty.kind == dutySelf && !rebootInFlight(i.reason(ecsv1alpha1.ConditionRebooted)) &&
		!rebootSettled(i.reason(ecsv1alpha1.ConditionRebooted))
}

// reboot is the rollout: it settles instances in flight from their observation, gives the
// others the condition their duty says, then, unless more than maxFailures reboots failed,
// starts new reboots up to maxConcurrent in flight. Reboots are not idempotent, so each
// request is preceded by a RebootRequested marker written with optimistic locking.
func (run *run) reboot(ctx context.Context, cloud ecs.Client) error {
	run.settleAndAssign()
	if !run.mayStartReboots() {
		return nil
	}
	start := run.claimReboots(run.nextReboots())
	if len(start) == 0 {
		return nil
	}
	return run.requestReboots(ctx, cloud, start)
}

// settleAndAssign settles the instances in flight and sets the Rebooted condition of the
// others from their duty; it needs no ECS call beyond the pass's observation.
func (run *run) settleAndAssign() {
	for _, i := range run.table.ordered {
		reason := i.reason(ecsv1alpha1.ConditionRebooted)
		switch {
		case rebootInFlight(reason):
			run.settleInFlight(i)
		case rebootSettled(reason) || !run.obj.Spec.Reboot.Enabled:
		case i.duty != nil:
			run.applyDuty(i, *i.duty)
		case unsettled(i):
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "Waiting for the "+run.kind.verb)
		default:
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonNotRequired, "")
		}
	}
}

// nextReboots picks the due instances that may start now: Running, within maxConcurrent in
// flight, none while the rollout is halted (those are marked RolloutHalted).
func (run *run) nextReboots() []*instance {
	inFlight, failures := run.rolloutCounts()
	spec := run.obj.Spec.Reboot
	halted := failures > int(spec.MaxFailures)
	var start []*instance
	for _, i := range run.table.where(rebootDue) {
		switch {
		case halted:
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRolloutHalted,
				fmt.Sprintf("Not started: %d reboots failed, more than spec.reboot.maxFailures (%d)", failures, spec.MaxFailures))
			continue
		case i.reason(ecsv1alpha1.ConditionRebooted) == ecsv1alpha1.ReasonRolloutHalted:
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "Rollout resumed")
		}
		if i.reason(ecsv1alpha1.ConditionRebooted) != ecsv1alpha1.ReasonPending {
			continue // Stopped: InstanceStopped
		}
		if !run.windowOpen() {
			run.holdForWindow(i)
			continue
		}
		if inFlight+len(start) < int(spec.MaxConcurrent) && len(start) < ecs.MaxRebootIDs &&
			i.observed != nil && i.found && i.observed.Status == ecs.StatusRunning {
			start = append(start, i)
		}
	}
	return start
}

// rolloutCounts counts the reboots in flight and the failed ones.
func (run *run) rolloutCounts() (inFlight, failures int) {
	for _, i := range run.table.ordered {
		reason := i.reason(ecsv1alpha1.ConditionRebooted)
		switch {
		case rebootInFlight(reason):
			inFlight++
		case ecsv1alpha1.InstanceReasonInfo(ecsv1alpha1.ConditionRebooted, reason).Outcome == ecsv1alpha1.OutcomeFailed:
			failures++
		}
	}
	return inFlight, failures
}

// claimReboots keeps the instances whose reboot this object wins in the process's ledger; the
// others wait for the object that holds them.
func (run *run) claimReboots(start []*instance) []*instance {
	var won []*instance
	for _, i := range start {
		holder, ok := run.r.ledger.claim(run.obj.Spec.RegionID, i.id(), run.obj.GetUID(), run.kind, run.name(), i.duty.detachAt, run.r.now())
		if !ok {
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				fmt.Sprintf("%s is rebooting it", holder))
			i.duty = &rebootDuty{kind: dutyWaitPeer, peer: holder}
			continue
		}
		won = append(won, i)
	}
	return won
}

func (run *run) name() string { return run.obj.name() }

// rolloutWatchList is what a reboot poll observes: instances in flight plus as many due
// instances as could start, so that a poll costs about ⌈maxConcurrent/100⌉ describes.
func (run *run) rolloutWatchList() []*instance {
	watch := run.table.where(func(i *instance) bool { return rebootInFlight(i.reason(ecsv1alpha1.ConditionRebooted)) })
	if !run.mayStartRebootsNow() {
		return watch
	}
	due := run.table.where(rebootDue)
	if n := int(run.obj.Spec.Reboot.MaxConcurrent); len(due) > n {
		due = due[:n]
	}
	return append(watch, due...)
}

// rolloutActive reports whether the rollout still has work that a poll can advance: reboots
// in flight, reboots to start, or instances waiting for another object.
func (run *run) rolloutActive() bool {
	for _, i := range run.table.ordered {
		reason := i.reason(ecsv1alpha1.ConditionRebooted)
		if rebootInFlight(reason) {
			return true
		}
		if !run.mayStartRebootsNow() || reason != ecsv1alpha1.ReasonPending {
			continue
		}
		if i.duty != nil && i.duty.kind != dutyNone {
			return true
		}
		if d := i.changeReason(); d == run.kind.done || d == run.kind.already {
			return true
		}
	}
	return false
}

// rebootTimeout is spec.reboot.timeout; the API server defaults it, the fallback only guards
// objects stored before the default existed.
func (run *run) rebootTimeout() metav1.Duration {
	if t := run.obj.Spec.Reboot.Timeout; t != nil && t.Duration > 0 {
		return *t
	}
	return metav1.Duration{Duration: defaultRebootTimeout}
}
