package controllers

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// codeKeyPairNotAttached is ECS's per-instance answer to DetachKeyPair when the key pair is no
// longer on the instance.
const codeKeyPairNotAttached = "InvalidKeyPair.NotAttached"

// maxUnknownCodeRetries bounds the retries of a per-instance code the classification table does
// not know: after that it is shown as DetachFailed (AttachFailed) with the code, for a human.
const maxUnknownCodeRetries = 3

// changeFailureReasons maps per-instance terminal ECS codes to Detached=False (Attached=False)
// reasons; any other code is the kind's failed reason with the code in the message.
var changeFailureReasons = map[string]string{
	"DependencyViolation.WindowsInstance": ecsv1alpha1.ReasonWindowsInstance,
	"InvalidInstanceId.NotFound":          ecsv1alpha1.ReasonInstanceNotFound,
	"InvalidInstanceIds.NotFound":         ecsv1alpha1.ReasonInstanceNotFound,
	"InstanceLockedForSecurity":           ecsv1alpha1.ReasonInstanceLocked,
}

// changeGroupSize is how many batches go out at once: their budget is taken first, then one
// status write marks all of them, then every call leaves at the same moment. Marking batch by
// batch would cost a write of the whole status per 50 instances, which at 1,000 instances costs
// more than the calls; marking batches that then queue behind others would claim changes that
// were never sent (someone else's, after a crash).
const changeGroupSize = 20

// changeBatch is one DetachKeyPair (AttachKeyPair) call's instances and how often ECS refused
// it in this pass.
type changeBatch struct {
	instances []*instance
	refusals  int
}

// change makes the kind's change (detach, attach) on every instance this pass's observation
// qualified for it, in batches of ecs.MaxDetachIDs sent in groups. Each group is marked
// Detaching (Attaching) just before its calls leave (the same status write records the
// previous group's results), so that after a lost answer "as wanted now" plus the marker
// proves this object made the change. A batch ECS refuses as a whole has its markers withdrawn
// and persisted before it is sent again within the pass's retry budget: nothing was changed,
// and someone else may change those instances meanwhile.
func (run *run) change(ctx context.Context, cloud ecs.Client) error {
	key, k := run.obj.Spec.KeyPairName, run.kind
	targets := run.table.where(changeDue)
	var queue []changeBatch
	for _, b := range chunks(targets, ecs.MaxDetachIDs) {
		queue = append(queue, changeBatch{instances: b})
	}
	deadline := time.Now().Add(run.r.retry.budget)
	var failed []string
	var lastErr error
	for len(queue) > 0 {
		group := queue[:min(len(queue), changeGroupSize)]
		queue = queue[len(group):]
		answers, sentAt, err := run.sendChangeGroup(ctx, cloud, group)
		if err != nil {
			return err
		}
		var again []changeBatch
		for n, b := range group {
			res, err := answers[n].res, answers[n].err
			if err != nil {
				if refusedAsAWhole(err) {
					run.withdrawChanging(b.instances, fmt.Sprintf("ECS refused the %s request (%s); will try again", k.verb, ecs.ErrorCode(err)))
				}
				if ecs.Classify(err) != ecs.ClassRetryable {
					return err // about the object (credentials, key pair): no batch escapes it
				}
				if refusedAsAWhole(err) && b.refusals+1 < run.r.retry.attempts {
					again = append(again, changeBatch{instances: b.instances, refusals: b.refusals + 1})
					continue
				}
				lastErr = err
				continue
			}
			failed = append(failed, run.recordChangeBatch(ctx, b.instances, res, sentAt)...)
		}
		if len(again) > 0 {
			if err := run.persist(ctx); err != nil {
				return err
			}
			if !run.r.retry.sleep(ctx, again[0].refusals, deadline) {
				return cmp.Or(lastErr, fmt.Errorf("ECS kept refusing %s requests; trying again later", k.verb))
			}
			queue = append(again, queue...)
		}
	}
	if len(failed) > 0 {
		run.event(eventWarning, k.failed, k.action, "%s could not be %s on %d instances: %s",
			key, k.past, len(failed), abbreviate(failed, 10))
	}
	return lastErr
}

type changeAnswer struct {
	res ecs.BatchResult
	err error
}

// sendChangeGroup takes the budget of every call of the group, marks the group, then sends the
// calls at once, each on its own client (a client serialises its calls). An error means nothing
// was marked or sent.
func (run *run) sendChangeGroup(ctx context.Context, cloud ecs.Client, group []changeBatch) ([]changeAnswer, time.Time, error) {
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
	for n, b := range group {
		if err := clients[n].AwaitBudget(ctx); err != nil {
			return nil, time.Time{}, err
		}
		marked = append(marked, b.instances...)
	}
	sentAt, err := run.markChanging(ctx, marked)
	if err != nil {
		return nil, time.Time{}, err
	}
	key := run.obj.Spec.KeyPairName
	answers := make([]changeAnswer, len(group))
	var wg sync.WaitGroup
	for n, b := range group {
		wg.Go(func() {
			// Seen through even if the manager is stopping, as reboot requests are.
			res, err := run.kind.change(context.WithoutCancel(ctx), clients[n], key, ids(b.instances))
			answers[n] = changeAnswer{res: res, err: err}
		})
	}
	wg.Wait()
	return answers, sentAt, nil
}

// recordChangeBatch applies one batch's per-instance answers and returns the instances that
// failed, for the event.
func (run *run) recordChangeBatch(ctx context.Context, batch []*instance, res ecs.BatchResult, sentAt time.Time) []string {
	key, k := run.obj.Spec.KeyPairName, run.kind
	var failed []string
	changed := run.applyResults(res, func(i *instance, result ecs.InstanceResult) bool {
		ok := run.recordChangeResult(i, result, res.RequestID, sentAt)
		if !ok && i.condition(k.condition).Status == metav1.ConditionFalse {
			failed = append(failed, fmt.Sprintf("%s (%s)", i.id(), result.Code))
		}
		return ok
	})
	ctrl.LoggerFrom(ctx).Info(k.changedLog, "change", k.verb, "keyPair", key, "requested", len(batch), k.past, changed,
		"requestId", res.RequestID)
	if changed > 0 {
		run.event(eventNormal, k.done, k.action, "%s %s on %d of %d instances (request %s)",
			key, k.past, changed, len(batch), res.RequestID)
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

// markChanging persists the Detaching (Attaching) markers of a group, stamped now, and returns
// the stamp.
func (run *run) markChanging(ctx context.Context, batch []*instance) (time.Time, error) {
	now := run.r.now()
	for _, i := range batch {
		i.markDetaching(fmt.Sprintf("%s of %s requested", run.kind.action, run.obj.Spec.KeyPairName), now)
	}
	return now, run.persist(ctx)
}

// withdrawChanging takes back the markers of a batch that ECS refused as a whole.
func (run *run) withdrawChanging(batch []*instance, message string) {
	for _, i := range batch {
		i.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, message)
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

// recordChangeResult applies one instance's result and reports whether it was changed. A
// Success is this object's proof; it starts a new reboot duty (a key changed back and changed
// again needs a reboot again). Any other answer means nothing was changed, so the marker is
// withdrawn: a transient code leaves it Pending for the next pass.
func (run *run) recordChangeResult(i *instance, result ecs.InstanceResult, requestID string, sentAt time.Time) bool {
	key, k := run.obj.Spec.KeyPairName, run.kind
	if result.Succeeded() {
		i.status.LastRequestID = requestID
		i.status.Detach = &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofAnswer, At: metav1.NewTime(sentAt)}
		i.status.DetachRetries = 0
		run.startNewRebootDuty(i)
		// No message: the reason, the record and lastRequestId say it all, in a status
		// bounded per instance.
		i.setChange(metav1.ConditionTrue, k.done, "")
		return true
	}
	if k.alreadyCode != "" && result.Code == k.alreadyCode {
		// This pass saw the instance otherwise a moment ago: someone else (another object, a
		// human) changed it in between, so it is not ours to reboot.
		i.setChange(metav1.ConditionTrue, k.already,
			fmt.Sprintf("%s was %s by someone else while this object was at it", key, k.past))
		return false
	}
	class := ecs.ClassifyCode(result.Code)
	switch {
	case result.Code == ecs.CodeNoInstanceResult:
		// No answer for this instance: unknown; the marker stays and the next pass observes.
	case class == ecs.ClassRetryable || class == ecs.ClassInstanceState:
		i.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("Not %s yet, ECS answered %s: %s; will try again", k.past, result.Code, result.Message))
	case !ecs.IsKnownCode(result.Code) && i.status.DetachRetries < maxUnknownCodeRetries:
		i.status.DetachRetries++
		i.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("ECS answered an unknown code %s: %s; trying again (%d of %d)", result.Code, result.Message,
				i.status.DetachRetries, maxUnknownCodeRetries))
	default:
		reason, known := changeFailureReasons[result.Code]
		if !known {
			reason = k.failed
		}
		i.setChange(metav1.ConditionFalse, reason,
			fmt.Sprintf("ECS refused the %s: %s: %s", k.verb, result.Code, result.Message))
	}
	return false
}

// startNewRebootDuty forgets the reboot of an earlier change when this object changes the key
// again: the new change takes effect only with a new reboot.
func (run *run) startNewRebootDuty(i *instance) {
	reason := i.reason(ecsv1alpha1.ConditionRebooted)
	if (i.status.Reboot == nil && !rebootSettled(reason)) || rebootInFlight(reason) {
		return // nothing from an earlier detach, or a reboot under way that covers this one
	}
	i.status.Reboot = nil
	if run.obj.Spec.Reboot.Enabled {
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("%s %s again: waiting for a reboot slot", run.obj.Spec.KeyPairName, run.kind.past))
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
