package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// codeKeyPairNotAttached is ECS's per-instance answer when the key pair is no longer on the
// instance.
const codeKeyPairNotAttached = "InvalidKeyPair.NotAttached"

// maxUnknownCodeRetries bounds the retries of a per-instance code the classification table does
// not know: after that it is shown as DetachFailed with the code, for a human to read.
const maxUnknownCodeRetries = 3

// detachFailureReasons maps per-instance terminal ECS codes to Detached=False reasons; any
// other code is DetachFailed with the code in the message.
var detachFailureReasons = map[string]string{
	"DependencyViolation.WindowsInstance": ecsv1alpha1.ReasonWindowsInstance,
	"InvalidInstanceId.NotFound":          ecsv1alpha1.ReasonInstanceNotFound,
	"InvalidInstanceIds.NotFound":         ecsv1alpha1.ReasonInstanceNotFound,
	"InstanceLockedForSecurity":           ecsv1alpha1.ReasonInstanceLocked,
}

// detachGroupSize is how many batches go out at once: their budget is taken first, then one
// status write marks all of them, then every call leaves at the same moment. Marking batch by
// batch would cost a write of the whole status per 50 instances, which at 1,000 instances costs
// more than the calls; marking batches that then queue behind others would claim detaches that
// were never sent (someone else's, after a crash).
const detachGroupSize = 20

// detachBatch is one DetachKeyPair call's instances and how often ECS refused it in this pass.
type detachBatch struct {
	instances []*instance
	refusals  int
}

// detach takes the key pair off every observed instance that carries it, in batches of
// ecs.MaxDetachIDs sent in groups. Each group is marked Detaching just before its calls leave
// (the same status write records the previous group's results), so that after a lost answer
// "not attached now" plus "Detaching" proves this object detached it. A batch ECS refuses as a
// whole has its markers withdrawn and persisted before it is sent again within the pass's retry
// budget: nothing was detached, and someone else may detach those instances meanwhile.
func (run *run) detach(ctx context.Context, cloud ecs.Client) error {
	key := run.obj.Spec.KeyPairName
	targets := run.table.where(func(i *instance) bool { return carriesKey(i, key) })
	var queue []detachBatch
	for _, b := range chunks(targets, ecs.MaxDetachIDs) {
		queue = append(queue, detachBatch{instances: b})
	}
	deadline := time.Now().Add(run.r.retry.budget)
	var failed []string
	var lastErr error
	for len(queue) > 0 {
		group := queue[:min(len(queue), detachGroupSize)]
		queue = queue[len(group):]
		answers, sentAt, err := run.sendDetachGroup(ctx, cloud, group)
		if err != nil {
			return err
		}
		var again []detachBatch
		for k, b := range group {
			res, err := answers[k].res, answers[k].err
			if err != nil {
				if refusedAsAWhole(err) {
					run.withdrawDetaching(b.instances, fmt.Sprintf("ECS refused the detach request (%s); will try again", ecs.ErrorCode(err)))
				}
				if ecs.Classify(err) != ecs.ClassRetryable {
					return err // about the object (credentials, key pair): no batch escapes it
				}
				if refusedAsAWhole(err) && b.refusals+1 < run.r.retry.attempts {
					again = append(again, detachBatch{instances: b.instances, refusals: b.refusals + 1})
					continue
				}
				lastErr = err
				continue
			}
			failed = append(failed, run.recordDetachBatch(ctx, b.instances, res, sentAt)...)
		}
		if len(again) > 0 {
			if err := run.persist(ctx); err != nil {
				return err
			}
			if !run.r.retry.sleep(ctx, again[0].refusals, deadline) {
				return cmp.Or(lastErr, errors.New("ECS kept refusing detach requests; trying again later"))
			}
			queue = append(again, queue...)
		}
	}
	if len(failed) > 0 {
		run.event(eventWarning, "DetachFailed", "Detach", "%s could not be detached from %d instances: %s",
			key, len(failed), abbreviate(failed, 10))
	}
	return lastErr
}

type detachAnswer struct {
	res ecs.BatchResult
	err error
}

// sendDetachGroup takes the budget of every call of the group, marks the group, then sends the
// calls at once, each on its own client (a client serialises its calls). An error means nothing
// was marked or sent.
func (run *run) sendDetachGroup(ctx context.Context, cloud ecs.Client, group []detachBatch) ([]detachAnswer, time.Time, error) {
	clients := make([]ecs.Client, len(group))
	clients[0] = cloud
	for k := 1; k < len(group); k++ {
		c, err := run.r.ECS.ForRegion(ctx, run.obj.Spec.RegionID, run.creds)
		if err != nil {
			return nil, time.Time{}, err
		}
		clients[k] = c
	}
	var marked []*instance
	for k, b := range group {
		if err := clients[k].AwaitBudget(ctx); err != nil {
			return nil, time.Time{}, err
		}
		marked = append(marked, b.instances...)
	}
	sentAt, err := run.markDetaching(ctx, marked)
	if err != nil {
		return nil, time.Time{}, err
	}
	key := run.obj.Spec.KeyPairName
	answers := make([]detachAnswer, len(group))
	var wg sync.WaitGroup
	for k, b := range group {
		wg.Go(func() {
			// Seen through even if the manager is stopping, as reboot requests are.
			res, err := clients[k].DetachKeyPair(context.WithoutCancel(ctx), key, ids(b.instances))
			answers[k] = detachAnswer{res: res, err: err}
		})
	}
	wg.Wait()
	return answers, sentAt, nil
}

// recordDetachBatch applies one batch's per-instance answers and returns the instances that
// failed, for the event.
func (run *run) recordDetachBatch(ctx context.Context, batch []*instance, res ecs.BatchResult, sentAt time.Time) []string {
	key := run.obj.Spec.KeyPairName
	var failed []string
	detached := run.applyResults(res, func(i *instance, result ecs.InstanceResult) bool {
		ok := run.recordDetachResult(i, result, res.RequestID, sentAt)
		if !ok && i.condition(ecsv1alpha1.ConditionDetached).Status == metav1.ConditionFalse {
			failed = append(failed, fmt.Sprintf("%s (%s)", i.id(), result.Code))
		}
		return ok
	})
	ctrl.LoggerFrom(ctx).Info("Detached key pair", "keyPair", key, "requested", len(batch), "detached", detached, "requestId", res.RequestID)
	if detached > 0 {
		run.event(eventNormal, "Detached", "Detach", "Detached %s from %d of %d instances (request %s)",
			key, detached, len(batch), res.RequestID)
	}
	return failed
}

// refusedAsAWhole reports whether ECS (or the client, before sending) refused a call without
// acting on any instance: the request never left, or ECS answered with an error code
// (throttling, a 5xx, a refusal). ECS reports what it did per instance; an error answer for the
// whole call means it did nothing. Only a lost answer (a timeout, a reset connection, a proxy's
// page without a code) says nothing about what ECS did.
func refusedAsAWhole(err error) bool {
	return ecs.NeverSent(err) || ecs.ErrorCode(err) != ""
}

// markDetaching persists the Detaching markers of a group, stamped now, and returns the stamp.
func (run *run) markDetaching(ctx context.Context, batch []*instance) (time.Time, error) {
	now := run.r.now()
	for _, i := range batch {
		i.markDetaching(fmt.Sprintf("Detach of %s requested", run.obj.Spec.KeyPairName), now)
	}
	return now, run.persist(ctx)
}

// withdrawDetaching takes back the markers of a batch that ECS refused as a whole.
func (run *run) withdrawDetaching(batch []*instance, message string) {
	for _, i := range batch {
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, message)
	}
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

// recordDetachResult applies one instance's result and reports whether it was detached. A
// Success is this object's proof; it starts a new reboot duty (a re-attached key detached
// again needs a reboot again). Any other answer means nothing was detached, so the marker is
// withdrawn: a transient code leaves it Pending for the next pass.
func (run *run) recordDetachResult(i *instance, result ecs.InstanceResult, requestID string, sentAt time.Time) bool {
	key := run.obj.Spec.KeyPairName
	if result.Succeeded() {
		i.status.LastRequestID = requestID
		i.status.Detach = &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofAnswer, At: metav1.NewTime(sentAt)}
		i.status.DetachRetries = 0
		run.startNewRebootDuty(i)
		// No message: the reason, detach and lastRequestId say it all, in a status bounded
		// per instance.
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionTrue, ecsv1alpha1.ReasonDetached, "")
		return true
	}
	if result.Code == codeKeyPairNotAttached {
		// This pass saw the key on the instance a moment ago: someone else (another object, a
		// human) detached it in between, so it is not ours to reboot.
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionTrue, ecsv1alpha1.ReasonNotAttached,
			fmt.Sprintf("%s was detached by someone else while this object was detaching it", key))
		return false
	}
	class := ecs.ClassifyCode(result.Code)
	switch {
	case result.Code == ecs.CodeNoInstanceResult:
		// No answer for this instance: unknown; the marker stays and the next pass observes.
	case class == ecs.ClassRetryable || class == ecs.ClassInstanceState:
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("Not detached yet, ECS answered %s: %s; will try again", result.Code, result.Message))
	case !ecs.IsKnownCode(result.Code) && i.status.DetachRetries < maxUnknownCodeRetries:
		i.status.DetachRetries++
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("ECS answered an unknown code %s: %s; trying again (%d of %d)", result.Code, result.Message,
				i.status.DetachRetries, maxUnknownCodeRetries))
	default:
		reason, known := detachFailureReasons[result.Code]
		if !known {
			reason = ecsv1alpha1.ReasonDetachFailed
		}
		i.set(ecsv1alpha1.ConditionDetached, metav1.ConditionFalse, reason,
			fmt.Sprintf("ECS refused the detach: %s: %s", result.Code, result.Message))
	}
	return false
}

// startNewRebootDuty forgets the reboot of an earlier detach when this object detaches the key
// again: the new detach takes effect only with a new reboot.
func (run *run) startNewRebootDuty(i *instance) {
	reason := i.reason(ecsv1alpha1.ConditionRebooted)
	if (i.status.Reboot == nil && !rebootSettled(reason)) || rebootInFlight(reason) {
		return // nothing from an earlier detach, or a reboot under way that covers this one
	}
	i.status.Reboot = nil
	if run.obj.Spec.Reboot.Enabled {
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			"Detached again: waiting for a reboot slot")
	} else {
		removeCondition(i, ecsv1alpha1.ConditionRebooted)
	}
}

// abbreviate joins at most n items and says how many more there were.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:n], len(items)-n)
}
