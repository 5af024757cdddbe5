package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// The finalizer is present only while the rollout has work left (reboots in flight or to
// start): a deleted object then lets its reboots in flight settle, starts none, and names the
// instances it detached but did not reboot, so that a person can act.

// ensureFinalizer adds the finalizer before the first reboot marker is written.
func (run *run) ensureFinalizer(ctx context.Context) error {
	if run.obj.GetDeletionTimestamp() != nil || controllerutil.ContainsFinalizer(run.obj.Object, ecsv1alpha1.FinalizerRebootsInFlight) {
		return nil
	}
	return run.patchFinalizer(ctx, controllerutil.AddFinalizer)
}

// releaseFinalizerWhenDone removes the finalizer once nothing is in flight and nothing is left
// to start (the rollout finished, halted, or reboot was switched off).
func (run *run) releaseFinalizerWhenDone(ctx context.Context) error {
	if !controllerutil.ContainsFinalizer(run.obj.Object, ecsv1alpha1.FinalizerRebootsInFlight) || run.rolloutHasWork() {
		return nil
	}
	return run.patchFinalizer(ctx, controllerutil.RemoveFinalizer)
}

func (run *run) rolloutHasWork() bool {
	for _, i := range run.table.ordered {
		if rebootInFlight(i.reason(ecsv1alpha1.ConditionRebooted)) || (run.mayStartReboots() && rebootDue(i) &&
			i.reason(ecsv1alpha1.ConditionRebooted) != ecsv1alpha1.ReasonRolloutHalted) {
			return true
		}
	}
	return false
}

// patchFinalizer changes the finalizers with optimistic locking; the response carries the new
// resourceVersion, which the status write that follows needs.
func (run *run) patchFinalizer(ctx context.Context, change func(client.Object, string) bool) error {
	base := run.obj.DeepCopyObject().(client.Object)
	status := run.obj.Status.DeepCopy()
	change(run.obj.Object, ecsv1alpha1.FinalizerRebootsInFlight)
	if err := run.r.Patch(ctx, run.obj.Object, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errConflict
		}
		return fmt.Errorf("updating the finalizers of %s: %w", run.name(), err)
	}
	// The patch answer carries the stored status; this run's own (unwritten) one is kept.
	*run.obj.Status = *status
	return nil
}

// finishDeletion waits for reboots in flight (at most spec.reboot.timeout after the last
// request), then names the instances detached but not rebooted and lets the object go.
func (run *run) finishDeletion(ctx context.Context) (ctrl.Result, error) {
	timeout := run.rebootTimeout().Duration
	var waiting, unrebooted []string
	for _, i := range run.table.ordered {
		reason := i.reason(ecsv1alpha1.ConditionRebooted)
		if rebootInFlight(reason) {
			if rec := i.status.Reboot; rec != nil && rec.RequestedAt != nil && run.now.Sub(rec.RequestedAt.Time) < timeout {
				waiting = append(waiting, i.id())
				continue
			}
		}
		ownDetach := i.status.Detach != nil || (i.duty != nil && i.duty.kind == dutySelf)
		switch {
		case !ownDetach:
		case reason == ecsv1alpha1.ReasonRebooted, reason == ecsv1alpha1.ReasonRebootedByOther, reason == ecsv1alpha1.ReasonInstanceStopped:
		default:
			unrebooted = append(unrebooted, i.id())
		}
	}
	if len(waiting) > 0 {
		ctrl.LoggerFrom(ctx).Info("Deleted; waiting for reboots in flight before letting go", "inFlight", len(waiting))
		return ctrl.Result{RequeueAfter: run.r.RebootPollInterval}, nil
	}
	if len(unrebooted) > 0 {
		ctrl.LoggerFrom(ctx).Info("Deleted before every reboot: these instances had the key pair changed but were not rebooted",
			"keyPair", run.obj.Spec.KeyPairName, "change", run.kind.verb, "instances", unrebooted)
		run.event(eventWarning, "DeletedBeforeReboot", "Delete",
			"Deleted before its reboots: %d instances had %s %s but were not rebooted, so the change is not in effect on them: %s",
			len(unrebooted), run.obj.Spec.KeyPairName, run.kind.past, abbreviate(unrebooted, 50))
	}
	if err := run.patchFinalizer(ctx, controllerutil.RemoveFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	run.gone = true
	return ctrl.Result{}, nil
}
