package controllers

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// requestReboots writes the RebootRequested markers, then asks ECS to reboot the instances.
func (run *run) requestReboots(ctx context.Context, cloud ecs.Client, start []*instance) error {
	firstOfRollout := true
	for _, i := range run.table.ordered {
		if r := i.status.Reboot; r != nil && r.Attempts > 0 && r.By == "" {
			firstOfRollout = false
		}
	}
	if err := run.ensureFinalizer(ctx); err != nil {
		return err
	}
	if firstOfRollout {
		run.event(eventNormal, "RolloutStarted", "Reboot", "Rebooting the instances on which %s was %s, at most %d at once (forceStop %t)",
			run.obj.Spec.KeyPairName, run.kind.past, run.obj.Spec.Reboot.MaxConcurrent, run.obj.Spec.Reboot.ForceStop)
	}
	res, start, err := run.sendReboots(ctx, cloud, start)
	if err != nil || len(start) == 0 {
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

// withdrawReboot takes back a marker for a request that did nothing. refused: ECS answered
// that it did not act, so the request does not count; otherwise it never left the operator,
// which counts towards maxRebootRequests.
func (run *run) withdrawReboot(i *instance, refused bool, message string) {
	run.r.ledger.release(run.obj.Spec.RegionID, i.id(), run.obj.GetUID())
	rec := i.status.Reboot
	if refused && rec.Attempts > 0 {
		rec.Attempts--
	}
	if !refused && rec.Attempts >= maxRebootRequests {
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("%s; %d requests never reached ECS, no further one is made", message, rec.Attempts))
		return
	}
	i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, message)
}

// recordRebootResult applies one instance's answer and reports whether ECS accepted it.
func (run *run) recordRebootResult(i *instance, result ecs.InstanceResult, requestID string) bool {
	if result.Succeeded() {
		i.status.LastRequestID = requestID
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonRebooting,
			fmt.Sprintf("Reboot accepted (request %s); waiting for Running", requestID))
		return true
	}
	switch ecs.ClassifyCode(result.Code) {
	case ecs.ClassRetryable:
		if result.Code == ecs.CodeNoInstanceResult {
			return false // unknown outcome: the marker stays and the instance is observed
		}
		run.withdrawReboot(i, true, fmt.Sprintf("Reboot refused for now (%s); will ask again", result.Code))
	case ecs.ClassInstanceState:
		// Not Running any more: the next observation says whether it stopped.
		run.withdrawReboot(i, true, fmt.Sprintf("ECS refused the reboot (%s: %s); observing it again", result.Code, result.Message))
	default:
		countReboots(rebootFailed, 1)
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("ECS refused the reboot: %s: %s", result.Code, result.Message))
	}
	return false
}

// sendReboots marks the instances RebootRequested, persists the markers, and asks ECS. A
// request ECS refuses as a whole (throttling, a 5xx answer) did nothing: its markers are
// withdrawn and persisted before the request is made again within the pass's retry budget, so
// a crash at any moment leaves markers only for a request that may have reached ECS.
func (run *run) sendReboots(ctx context.Context, cloud ecs.Client, start []*instance) (ecs.BatchResult, []*instance, error) {
	policy := run.r.retry
	deadline := time.Now().Add(policy.budget)
	for attempt := 1; ; attempt++ {
		if err := cloud.AwaitBudget(ctx); err != nil {
			return ecs.BatchResult{}, nil, err // nothing marked, nothing sent
		}
		run.markRebootRequested(start)
		if err := run.persist(ctx); err != nil {
			return ecs.BatchResult{}, nil, err
		}
		// Once marked, the request is seen through even if the manager is stopping (the
		// client's call timeout still bounds it): an answer cut off by the stop would leave
		// the markers of a request that may or may not have reached ECS.
		res, err := cloud.RebootInstances(context.WithoutCancel(ctx), ids(start), run.obj.Spec.Reboot.ForceStop)
		run.r.poller.changed(run.scope, ids(start))
		switch {
		case err == nil:
			return res, start, nil
		case ecs.NeverSent(err):
			// Nothing left the operator: the request may be made once more, never a third time.
			for _, i := range start {
				run.withdrawReboot(i, false, fmt.Sprintf("The reboot request never left the operator (%s)", ecs.ErrorCode(err)))
			}
			return res, start, err
		case !refusedAsAWhole(err):
			return res, start, err // the answer was lost: the markers stay and the instances are observed
		}
		for _, i := range start {
			run.withdrawReboot(i, true, fmt.Sprintf("ECS refused the reboot request (%s); will ask again", ecs.ErrorCode(err)))
		}
		if ecs.Classify(err) != ecs.ClassRetryable || attempt >= policy.attempts {
			return res, start, err
		}
		if werr := run.persist(ctx); werr != nil {
			return res, start, werr
		}
		if !policy.sleep(ctx, attempt, deadline) {
			return res, start, err
		}
		if start = run.claimReboots(start); len(start) == 0 {
			return res, nil, nil
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Reboot request refused; asking again within the pass", "code", ecs.ErrorCode(err), "attempt", attempt)
	}
}

// markRebootRequested records, stamped now, that a reboot request for each instance is about
// to be sent, with ECS's StartTime from before it.
func (run *run) markRebootRequested(start []*instance) {
	now := run.r.now()
	for _, i := range start {
		rec := i.status.Reboot
		if rec == nil || rec.By != "" {
			rec = &ecsv1alpha1.RebootRecord{}
		}
		if rec.StartTimeBefore == nil && !i.observed.StartTime.IsZero() {
			rec.StartTimeBefore = &metav1.Time{Time: i.observed.StartTime}
		}
		rec.Attempts++
		rec.RequestedAt = &metav1.Time{Time: now}
		i.status.Reboot = rec
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonRebootRequested,
			fmt.Sprintf("Reboot requested (request %d of at most %d)", rec.Attempts, maxRebootRequests))
	}
}
