package controllers

import (
	"cmp"
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// codeKeyPairNotAttached is ECS's per-instance answer when the key pair is no longer on the
// instance.
const codeKeyPairNotAttached = "InvalidKeyPair.NotAttached"

// detachFailureReasons maps per-instance terminal ECS codes to Detached=False reasons; any
// other code is DetachFailed with the code in the message.
var detachFailureReasons = map[string]string{
	"DependencyViolation.WindowsInstance": ecsv1alpha1.ReasonWindowsInstance,
	"InvalidInstanceId.NotFound":          ecsv1alpha1.ReasonInstanceNotFound,
	"InvalidInstanceIds.NotFound":         ecsv1alpha1.ReasonInstanceNotFound,
	"InstanceLockedForSecurity":           ecsv1alpha1.ReasonInstanceLocked,
}

// detach takes the key pair off every observed instance that carries it, in batches of
// ecs.MaxDetachIDs. All of them are first marked Detaching in one status write: after a crash,
// "not attached now" plus "Detaching" proves this object detached it.
func (run *run) detach(ctx context.Context, cloud ecs.Client) error {
	key, gen := run.obj.Spec.KeyPairName, run.obj.Generation
	targets := run.table.where(func(i *instance) bool {
		return i.found && i.observed.KeyPairName == key && !i.observed.Windows && len(i.observed.LockReasons) == 0
	})
	if len(targets) == 0 {
		return nil
	}
	for _, i := range targets {
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonDetaching,
			fmt.Sprintf("Detach of %s requested", key), gen)
	}
	if err := run.persist(ctx); err != nil {
		return err
	}

	log := ctrl.LoggerFrom(ctx)
	var failed []string
	var firstErr error
	for _, batch := range chunks(targets, ecs.MaxDetachIDs) {
		res, err := cloud.DetachKeyPair(ctx, key, ids(batch))
		if err != nil {
			// The batch keeps its Detaching marker and is retried by the next pass. Other
			// batches go on unless ECS throttles (it asks for fewer calls) or the error is
			// about the object (credentials, key pair), which no other batch escapes.
			if ecs.IsThrottling(err) || ecs.Classify(err) != ecs.ClassRetryable {
				return err
			}
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		detached := run.applyResults(res, func(i *instance, result ecs.InstanceResult) bool {
			ok := run.recordDetachResult(i, result, res.RequestID)
			if !ok && i.condition(ecsv1alpha1.ConditionDetached).Status == metav1.ConditionFalse {
				failed = append(failed, fmt.Sprintf("%s (%s)", i.id(), result.Code))
			}
			return ok
		})
		log.Info("Detached key pair", "keyPair", key, "requested", len(batch), "detached", detached, "requestId", res.RequestID)
		if detached > 0 {
			run.event(eventNormal, "Detached", "Detach", "Detached %s from %d of %d instances (request %s)",
				key, detached, len(batch), res.RequestID)
		}
	}
	if len(failed) > 0 {
		run.event(eventWarning, "DetachFailed", "Detach", "%s could not be detached from %d instances: %s",
			key, len(failed), abbreviate(failed, 10))
	}
	return firstErr
}

// applyResults hands each per-instance result of a batch call to record and counts the
// instances record reports as changed; results for IDs outside the spec are ignored.
func (run *run) applyResults(res ecs.BatchResult, record func(*instance, ecs.InstanceResult) bool) int {
	n := 0
	for _, result := range res.Results {
		if i := run.table.byID[result.InstanceID]; i != nil && record(i, result) {
			n++
		}
	}
	return n
}

// recordDetachResult applies one instance's result and reports whether it was detached.
// Retryable codes keep the Detaching marker: the next pass observes and tries again.
func (run *run) recordDetachResult(i *instance, result ecs.InstanceResult, requestID string) bool {
	gen, key := run.obj.Generation, run.obj.Spec.KeyPairName
	if result.Succeeded() {
		i.status.LastRequestID = requestID
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionTrue, ecsv1alpha1.ReasonDetached,
			fmt.Sprintf("%s detached by this object (request %s)", key, requestID), gen)
		return true
	}
	if result.Code == codeKeyPairNotAttached {
		// This pass saw the key on the instance a moment ago: someone else (another object, a
		// human) detached it in between, so it is not ours to reboot.
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionTrue, ecsv1alpha1.ReasonNotAttached,
			fmt.Sprintf("%s was detached by someone else while this object was detaching it", key), gen)
		return false
	}
	switch ecs.ClassifyCode(result.Code) {
	case ecs.ClassRetryable:
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonDetaching,
			fmt.Sprintf("Retrying after %s: %s", result.Code, result.Message), gen)
	default:
		reason, known := detachFailureReasons[result.Code]
		if !known {
			reason = ecsv1alpha1.ReasonDetachFailed
		}
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionFalse, reason,
			fmt.Sprintf("ECS refused the detach: %s: %s", result.Code, result.Message), gen)
	}
	return false
}

// abbreviate joins at most n items and says how many more there were.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:n], len(items)-n)
}
