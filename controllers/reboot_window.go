package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// windowOpen reports whether new reboots may start now (no window: always; a window this
// manager cannot read: never).
func (run *run) windowOpen() bool {
	return run.windowErr == nil && run.window.Open(run.now)
}

// mayStartRebootsNow: reboots may start and the window is open. Polls watch the next
// candidates only then; outside the window only reboots in flight are watched.
func (run *run) mayStartRebootsNow() bool {
	return run.mayStartReboots() && run.windowOpen()
}

// windowWait says what due reboots wait for: the window's next opening, or a fix of a window
// this manager cannot read.
func (run *run) windowWait() string {
	if run.windowErr != nil {
		return fmt.Sprintf("spec.reboot.window, which this manager cannot read (%v): fix the time zone", run.windowErr)
	}
	return fmt.Sprintf("the reboot window %s; next opening %s", run.window, run.window.NextOpening(run.now).UTC().Format(time.RFC3339))
}

// holdForWindow marks a due reboot as waiting for the window's next opening.
func (run *run) holdForWindow(i *instance) {
	i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonWaitingForWindow, "Waiting for "+run.windowWait())
}

// waitingForWindow counts the reboots held for the window.
func (run *run) waitingForWindow() int {
	return len(run.table.where(func(i *instance) bool {
		return i.reason(ecsv1alpha1.ConditionRebooted) == ecsv1alpha1.ReasonWaitingForWindow
	}))
}

// idleRequeue is when an object with nothing to poll runs again: at its resync, or at the
// window's next opening when reboots wait for it, whichever comes first; never by polling the
// clock in between.
func (run *run) idleRequeue() time.Duration {
	after := run.r.resyncAfter()
	if run.waitingForWindow() == 0 || run.windowErr != nil {
		return after
	}
	// A second past the opening, so that the pass finds the window open on any clock skew
	// between the timer and the clock.
	return min(after, run.window.NextOpening(run.now).Sub(run.now)+time.Second)
}

// windowReadiness is the Ready condition while the only work left waits for the window.
func (run *run) windowReadiness(waiting int) metav1.Condition {
	return metav1.Condition{Status: metav1.ConditionFalse, Reason: ecsv1alpha1.ReasonWaitingForWindow,
		Message: fmt.Sprintf("%d reboots wait for %s", waiting, run.windowWait())}
}
