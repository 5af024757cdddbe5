package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// defaultRebootTimeout guards objects stored before the API server defaulted timeout.
const defaultRebootTimeout = 15 * time.Minute

// settleInFlight decides what happened to a requested reboot from what ECS shows, never by
// asking again and never by comparing ECS times with the manager's clock: ECS accepted it or a
// poll saw it Stopping/Starting (Rebooting), then Running means done; a StartTime later than
// the one recorded before the request means done. A request whose answer was lost and that
// shows no evidence either way is unknown, and after timeout is reported as
// RebootUnconfirmed, for a person to check. Elapsed time is measured on the manager's clock
// alone, from the marker it stamped.
func (run *run) settleInFlight(i *instance) {
	c := i.condition(ecsv1alpha1.ConditionRebooted)
	rec := i.status.Reboot
	if rec == nil || rec.RequestedAt == nil {
		// A marker without its record (written by hand, or lost): one request that may have
		// reached ECS, timed from now, so that the timeout is waited out in full.
		rec = &ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: run.now}}
		i.status.Reboot = rec
	}
	elapsed := run.now.Sub(rec.RequestedAt.Time)
	timeout := run.rebootTimeout()
	o := i.observed
	switch {
	case o == nil:
		return
	case !i.found:
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			"The instance no longer exists")
	case o.Status == ecs.StatusRunning && rec.StartTimeBefore != nil && o.StartTime.After(rec.StartTimeBefore.Time):
		run.rebooted(i)
	case o.Status == ecs.StatusRunning && c.Reason == ecsv1alpha1.ReasonRebooting:
		run.rebooted(i)
	case o.Status == ecs.StatusStopping || o.Status == ecs.StatusStarting || o.Status == ecs.StatusPending:
		if elapsed > timeout.Duration {
			countReboots(rebootFailed, 1)
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
				fmt.Sprintf("Not Running again within spec.reboot.timeout (%s); status %s", timeout.Duration, o.Status))
			return
		}
		if c.Reason == ecsv1alpha1.ReasonRebootRequested {
			// Status stays Unknown, so the transition time (the marker) is kept.
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonRebooting,
				fmt.Sprintf("ECS shows it %s; waiting for Running", o.Status))
		}
	case o.Status == ecs.StatusStopped:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceStopped, "")
	case elapsed > timeout.Duration && c.Reason == ecsv1alpha1.ReasonRebootRequested:
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootUnconfirmed,
			fmt.Sprintf("The answer to the reboot request was lost and ECS shows no sign of a reboot within %s "+
				"(still Running, StartTime unchanged); not asked again: check the instance", timeout.Duration))
	case elapsed > timeout.Duration:
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("Not Running again within spec.reboot.timeout (%s); status %s", timeout.Duration, o.Status))
	}
}

// rebooted settles the instance. The StartTime from before the request was evidence for the
// wait and is dropped with it; the record keeps what peers and the finalizer read.
func (run *run) rebooted(i *instance) {
	countReboots(rebootDone, 1)
	if i.status.Reboot != nil {
		i.status.Reboot.StartTimeBefore = nil
		if at := i.status.Reboot.RequestedAt; at != nil && i.status.Reboot.By == "" {
			run.r.measureReboot(run.obj.Spec.RegionID, run.now.Sub(at.Time))
		}
	}
	i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionTrue, ecsv1alpha1.ReasonRebooted, "")
}
