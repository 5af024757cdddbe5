package controllers

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// maxRebootAttempts: a reboot request that shows no effect is sent once more, never again.
const maxRebootAttempts = 2

// attemptPattern reads the attempt number back from a RebootRequested or Pending message: the
// contract has no status field for it, and the message is where a human reads it too.
var attemptPattern = regexp.MustCompile(`attempt (\d+)`)

// reboot is the rollout: it settles instances in flight from their observation, then, unless
// more than maxFailures reboots failed, starts new reboots up to maxConcurrent in flight.
// Reboots are not idempotent, so each request is preceded by a RebootRequested marker written
// with optimistic locking; a conflict means this pass read a stale object and calls nothing.
func (run *run) reboot(ctx context.Context, cloud ecs.Client) error {
	for _, i := range run.table.ordered {
		run.settleReboot(i)
	}
	inFlight, failures := 0, 0
	for _, i := range run.table.ordered {
		switch i.reason(ecsv1alpha1.ConditionRebooted) {
		case ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting:
			inFlight++
		case ecsv1alpha1.ReasonRebootFailed:
			failures++
		}
	}
	spec := run.obj.Spec.Reboot
	halted := failures > int(spec.MaxFailures)
	var start []*instance
	for _, i := range run.rebootCandidates() {
		switch {
		case halted:
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRolloutHalted,
				fmt.Sprintf("Not started: %d reboots failed, more than spec.reboot.maxFailures (%d)", failures, spec.MaxFailures),
				run.obj.Generation)
		case i.reason(ecsv1alpha1.ConditionRebooted) == ecsv1alpha1.ReasonRolloutHalted:
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				"Rollout resumed", run.obj.Generation)
			fallthrough
		default:
			if inFlight+len(start) < int(spec.MaxConcurrent) && i.observed != nil && i.found &&
				i.observed.Status == ecs.StatusRunning && len(start) < ecs.MaxRebootIDs {
				start = append(start, i)
			}
		}
	}
	if len(start) == 0 {
		return nil
	}
	return run.requestReboots(ctx, cloud, start)
}

// rebootCandidates are the instances this object detached that still wait for their reboot.
func (run *run) rebootCandidates() []*instance {
	return run.table.where(func(i *instance) bool {
		if i.reason(ecsv1alpha1.ConditionDetached) != ecsv1alpha1.ReasonDetached {
			return false
		}
		r := i.reason(ecsv1alpha1.ConditionRebooted)
		return r == ecsv1alpha1.ReasonPending || r == ecsv1alpha1.ReasonRolloutHalted
	})
}

// rolloutWatchList is what a reboot poll observes: instances in flight plus as many next
// candidates as could start, so that a poll costs about ⌈maxConcurrent/100⌉ describes.
func (run *run) rolloutWatchList() []*instance {
	watch := run.table.where(func(i *instance) bool {
		r := i.reason(ecsv1alpha1.ConditionRebooted)
		return r == ecsv1alpha1.ReasonRebootRequested || r == ecsv1alpha1.ReasonRebooting
	})
	candidates := run.rebootCandidates()
	if n := int(run.obj.Spec.Reboot.MaxConcurrent); len(candidates) > n {
		candidates = candidates[:n]
	}
	return append(watch, candidates...)
}

// rolloutInFlight reports whether the rollout still has work that a poll can advance.
func (run *run) rolloutInFlight() bool {
	for _, i := range run.table.ordered {
		switch i.reason(ecsv1alpha1.ConditionRebooted) {
		case ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting:
			return true
		case ecsv1alpha1.ReasonPending:
			if i.reason(ecsv1alpha1.ConditionDetached) == ecsv1alpha1.ReasonDetached {
				return true
			}
		}
	}
	return false
}

// settleReboot moves one instance's Rebooted condition on from what is known now.
func (run *run) settleReboot(i *instance) {
	gen := run.obj.Generation
	detached, rebooted := i.reason(ecsv1alpha1.ConditionDetached), i.reason(ecsv1alpha1.ConditionRebooted)
	switch rebooted {
	case ecsv1alpha1.ReasonRebooted, ecsv1alpha1.ReasonInstanceStopped, ecsv1alpha1.ReasonRebootFailed:
		return // final for this object: an instance is never rebooted twice
	case ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting:
		run.settleInFlight(i)
		return
	}
	switch detached {
	case ecsv1alpha1.ReasonPending, ecsv1alpha1.ReasonDetaching:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "Waiting for the detach", gen)
	case ecsv1alpha1.ReasonDetached:
		if rebooted == ecsv1alpha1.ReasonNotRequired || attemptOf(i.condition(ecsv1alpha1.ConditionRebooted).Message) == 0 {
			// NotRequired here means detached by this object only now (drift after a
			// NotAttached observation); a retry's message keeps its attempt number.
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				"Waiting for a reboot slot", gen)
		}
		if i.observed != nil && i.found && i.observed.Status == ecs.StatusStopped {
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceStopped,
				"Stopped: the detach takes effect at its next start; the operator never starts it", gen)
		}
	default:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonNotRequired,
			"This object did not detach the key pair from this instance", gen)
	}
}

// settleInFlight decides what happened to a requested reboot from the instance itself, never
// by asking again: Stopping/Starting means ECS took it; Running with a StartTime not before
// the marker's minute (ECS reports minutes) means it is done; Running with an older StartTime
// long after the request means the request never reached ECS, and it may be sent once more.
func (run *run) settleInFlight(i *instance) {
	gen := run.obj.Generation
	c := i.condition(ecsv1alpha1.ConditionRebooted)
	marker := c.LastTransitionTime.Time
	elapsed := run.now.Sub(marker)
	o := i.observed
	switch {
	case o == nil:
		return
	case !i.found:
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			"The instance no longer exists", gen)
	case o.Status == ecs.StatusRunning && !o.StartTime.IsZero() && !o.StartTime.Before(marker.Truncate(time.Minute)):
		countReboots(rebootDone, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionTrue, ecsv1alpha1.ReasonRebooted,
			fmt.Sprintf("Running again since %s", o.StartTime.UTC().Format(time.RFC3339)), gen)
	case elapsed > run.rebootTimeout():
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("Not Running again within spec.reboot.timeout (%s); status %s", run.rebootTimeout(), o.Status), gen)
	case o.Status == ecs.StatusStopping || o.Status == ecs.StatusStarting || o.Status == ecs.StatusPending:
		if c.Reason == ecsv1alpha1.ReasonRebootRequested {
			// Status stays Unknown, so the transition time (the marker) is kept.
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonRebooting,
				"Reboot in progress; waiting for Running", gen)
		}
	case o.Status == ecs.StatusStopped:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceStopped,
			"Stopped during the rollout: the detach takes effect at its next start; the operator never starts it", gen)
	case c.Reason == ecsv1alpha1.ReasonRebootRequested && elapsed > run.r.RebootVerifyAfter:
		attempt := attemptOf(c.Message)
		if attempt >= maxRebootAttempts {
			countReboots(rebootFailed, 1)
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
				fmt.Sprintf("%d reboot requests showed no effect", attempt), gen)
			return
		}
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("Reboot request (attempt %d) never reached ECS: still Running since %s", attempt,
				o.StartTime.UTC().Format(time.RFC3339)), gen)
	}
}

// rebootTimeout is spec.reboot.timeout; the API server defaults it, the fallback only guards
// objects stored before the default existed.
func (run *run) rebootTimeout() time.Duration {
	if t := run.obj.Spec.Reboot.Timeout; t != nil && t.Duration > 0 {
		return t.Duration
	}
	return 15 * time.Minute
}

func attemptOf(message string) int {
	if m := attemptPattern.FindStringSubmatch(message); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return 0
}

// requestReboots writes the RebootRequested markers, then asks ECS to reboot the instances.
func (run *run) requestReboots(ctx context.Context, cloud ecs.Client, start []*instance) error {
	gen := run.obj.Generation
	firstOfRollout := true
	for _, i := range run.table.ordered {
		if r := i.reason(ecsv1alpha1.ConditionRebooted); r != ecsv1alpha1.ReasonPending && r != ecsv1alpha1.ReasonNotRequired &&
			r != ecsv1alpha1.ReasonRolloutHalted {
			firstOfRollout = false
		}
	}
	previous := make(map[string]metav1.Condition, len(start))
	for _, i := range start {
		c := i.condition(ecsv1alpha1.ConditionRebooted)
		previous[i.id()] = *c
		i.setMarker(ecsv1alpha1.ConditionRebooted, ecsv1alpha1.ReasonRebootRequested,
			fmt.Sprintf("Reboot requested (attempt %d)", attemptOf(c.Message)+1), gen, run.now)
	}
	if err := run.persist(ctx); err != nil {
		return err
	}
	if firstOfRollout {
		run.event(eventNormal, "RolloutStarted", "Reboot", "Rebooting the instances detached from %s, at most %d at once (forceStop %t)",
			run.obj.Spec.KeyPairName, run.obj.Spec.Reboot.MaxConcurrent, run.obj.Spec.Reboot.ForceStop)
	}

	res, err := cloud.RebootInstances(ctx, ids(start), run.obj.Spec.Reboot.ForceStop)
	if err != nil {
		if ecs.ErrorCode(err) != "" && ecs.Classify(err) != ecs.ClassRetryable || ecs.IsThrottling(err) {
			// ECS answered with a refusal: no reboot happened, so the markers are withdrawn.
			for _, i := range start {
				i.status.Conditions = replaceCondition(i.status.Conditions, previous[i.id()])
			}
		}
		// Otherwise the answer was lost: the markers stay and the instances are observed.
		return err
	}
	accepted := run.applyResults(res, func(i *instance, result ecs.InstanceResult) bool {
		return run.recordRebootResult(i, result, res.RequestID)
	})
	ctrl.LoggerFrom(ctx).Info("Requested reboots", "requested", len(start), "accepted", accepted, "requestId", res.RequestID)
	run.event(eventNormal, "RebootRequested", "Reboot", "Reboot accepted for %d of %d instances (request %s)",
		accepted, len(start), res.RequestID)
	countReboots(rebootAccepted, accepted)
	countReboots(rebootRefused, len(start)-accepted)
	return nil
}

// recordRebootResult applies one instance's answer and reports whether ECS accepted it.
func (run *run) recordRebootResult(i *instance, result ecs.InstanceResult, requestID string) bool {
	gen := run.obj.Generation
	if result.Succeeded() {
		i.status.LastRequestID = requestID
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonRebooting,
			fmt.Sprintf("Reboot accepted (request %s); waiting for Running", requestID), gen)
		return true
	}
	switch ecs.ClassifyCode(result.Code) {
	case ecs.ClassRetryable:
		if result.Code == ecs.CodeNoInstanceResult {
			return false // unknown outcome: the marker stays and the instance is observed
		}
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("Reboot refused for now (%s); will retry", result.Code), gen)
	case ecs.ClassInstanceState:
		// Not Running any more: the next observation says whether it stopped.
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("ECS refused the reboot (%s: %s); observing it again", result.Code, result.Message), gen)
	default:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("ECS refused the reboot: %s: %s", result.Code, result.Message), gen)
	}
	return false
}

func replaceCondition(conditions []metav1.Condition, c metav1.Condition) []metav1.Condition {
	for n := range conditions {
		if conditions[n].Type == c.Type {
			conditions[n] = c
			return conditions
		}
	}
	return append(conditions, c)
}
