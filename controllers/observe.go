package controllers

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// observe is the observation of a pass: the key pair's existence (once per full pass), then the targets in
// pages of ecs.MaxDescribeIDs, each classified for the change. proceed is false when the key
// pair does not exist and this object never changed it (a typo or the wrong region): then
// nothing else is done. When a page fails, the instances of earlier pages are classified and
// the error is returned.
func (run *run) observe(ctx context.Context, cloud ecs.Client, targets []*instance) (proceed bool, err error) {
	exists := run.r.keyPairKnownToExist(run.obj)
	if !exists {
		if exists, err = cloud.KeyPairExists(ctx, run.obj.Spec.KeyPairName); err != nil {
			return false, err
		}
		if exists {
			run.r.recordKeyPairFound(run.obj)
		}
	}
	if !exists && !run.changedAny() {
		run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonKeyPairNotFound,
			Message: fmt.Sprintf("Key pair %q does not exist in region %s; check spec.keyPairName and spec.regionId",
				run.obj.Spec.KeyPairName, run.obj.Spec.RegionID)}
		return false, nil
	}
	err = run.describe(ctx, cloud, run.recallPlanned(targets))
	if run.observationLost(targets) {
		return false, nil
	}
	for _, i := range targets {
		if i.observed != nil {
			run.classify(ctx, i)
		}
	}
	return true, err
}

// observationLost reports, and records as the object's problem, an observation that returned
// none of the instances it asked for although earlier ones saw some of them: ECS answers a
// caller whose RAM policy changed with an empty list, not an error. Turning that into
// InstanceNotFound for every instance would halt the rollout for a permission problem.
func (run *run) observationLost(targets []*instance) bool {
	observed, seenBefore := 0, 0
	for _, i := range targets {
		if i.observed == nil {
			continue
		}
		if i.found {
			return false
		}
		observed++
		switch i.changeReason() {
		case ecsv1alpha1.ReasonPending, ecsv1alpha1.ReasonInstanceNotFound, "":
		default:
			seenBefore++
		}
	}
	if observed == 0 || seenBefore == 0 {
		return false
	}
	for _, i := range targets {
		i.observed = nil
	}
	run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonCredentialsError, Message: fmt.Sprintf(
		"DescribeInstances returned none of the %d instances asked for, %d of which it returned before: "+
			"the identity%s probably lost permission (a RAM policy change); nothing was changed", observed, seenBefore, run.credentialsSource())}
	return true
}

// observeRollout is the observation of a reboot poll: only the instances the reboot phase will
// look at (in flight, and the next candidates) that this pass has not observed yet.
// The observation is shared with other objects of the same identity and region
// (rollout_poller.go), and what this pass observed itself is shared with them too; an object
// with nothing to watch leaves the poller.
func (run *run) observeRollout(ctx context.Context, cloud ecs.Client) error {
	watch := run.rolloutWatchList()
	// Every candidate is tracked, not only the next ones: the full pass observed them all, and
	// that observation stands for them until this process asks ECS to change them.
	tracked := ids(watch)
	inWatch := make(map[string]bool, len(watch))
	for _, i := range watch {
		inWatch[i.id()] = true
	}
	if run.mayStartRebootsNow() {
		for _, i := range run.table.where(rebootDue) {
			if !inWatch[i.id()] {
				tracked = append(tracked, i.id())
			}
		}
	}
	inFlight := make(map[string]bool, len(watch))
	known := map[string]polled{}
	for _, id := range tracked {
		i := run.table.byID[id]
		inFlight[id] = rebootInFlight(i.reason(ecsv1alpha1.ConditionRebooted))
		if i.observed != nil {
			known[id] = polledOf(*i.observed, i.found, run.now)
		}
	}
	got, err := run.r.poller.observe(ctx, cloud, run.scope, run.key(), ids(watch), tracked, inFlight, known)
	for _, i := range watch {
		if o, ok := got[i.id()]; ok && i.observed == nil {
			i.observed, i.found = o.instance(i.id()), o.found
		}
	}
	return err
}

// describe fills in the observation of the given instances; IDs ECS does not return do not
// exist in the region. A failed page does not stop the others, except throttling: then ECS asks
// for fewer calls, and the pass stops. The first error is returned.
func (run *run) describe(ctx context.Context, cloud ecs.Client, targets []*instance) error {
	var firstErr error
	for _, batch := range chunks(targets, ecs.MaxDescribeIDs) {
		found, err := cloud.DescribeInstances(ctx, ids(batch))
		if err != nil {
			if ecs.IsThrottling(err) || ecs.Classify(err) != ecs.ClassRetryable {
				return err
			}
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		byID := make(map[string]ecs.Instance, len(found))
		for _, f := range found {
			byID[f.ID] = f
		}
		for _, i := range batch {
			f, ok := byID[i.id()]
			i.observed, i.found = &f, ok
		}
	}
	return firstErr
}

// classify sets the change condition (Detached or Attached) from the observation. Instances
// the kind wants to change are left for the change phase (their condition says what happens
// next), unless an opposing object claimed them first (claims.go).
func (run *run) classify(ctx context.Context, i *instance) {
	k, key := run.kind, run.obj.Spec.KeyPairName
	previous := i.changeReason()
	switch {
	case !i.found:
		run.releaseClaim(i)
		i.setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceNotFound,
			fmt.Sprintf("No instance %s in region %s; remove it from spec.instanceIds or fix the ID", i.id(), run.obj.Spec.RegionID))
		return
	case i.observed.Windows:
		run.releaseClaim(i)
		i.setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonWindowsInstance,
			"Windows instance: key pairs apply to Linux only; remove it from spec.instanceIds")
		return
	}
	i.want = k.wants(run.obj, i.observed, previous)
	if i.want != wantMismatch {
		if h, claimed := run.claimedByOther(i); claimed {
			i.want = wantMismatch
			i.setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonClaimedByOther, fmt.Sprintf(
				"%s claimed it first and wants %s %s; left alone: remove it from one of the two specs", h.name, h.keyPairName, h.kind.wish))
			return
		}
	}
	switch {
	case i.want == wantChange && len(i.observed.LockReasons) > 0:
		i.setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceLocked,
			fmt.Sprintf("To be %s, but ECS holds operation locks (%s); it is retried at the next resync",
				k.past, strings.Join(i.observed.LockReasons, ", ")))
	case i.want == wantChange:
		if previous == k.done || previous == k.already {
			ctrl.LoggerFrom(ctx).Info("Instance changed back; making the change again", "instance", i.id(), "change", k.verb)
			run.event(eventWarning, "DriftDetected", k.action,
				"%s on %s was changed back (it now carries %q); making the %s again", key, i.id(), i.observed.KeyPairName, k.verb)
		}
		i.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, k.pending(run.obj, i.observed))
	case i.want == wantNothing:
		switch previous {
		case k.done:
			// Changed by this object earlier; the condition keeps its message.
		case k.changing:
			run.claimLostChange(i)
		default:
			i.setChange(metav1.ConditionTrue, k.already, "")
		}
	default:
		run.releaseClaim(i)
		i.setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonKeyPairMismatch, k.mismatch(run.obj, i.observed))
	}
}

// claimLostChange settles an instance whose change answer was lost: the instance is as this
// object wants and its marker says its call was sent. That is this object's change, unless
// another object of its kind and key holds ECS's own answer for it, which is stronger proof.
func (run *run) claimLostChange(i *instance) {
	k, key := run.kind, run.obj.Spec.KeyPairName
	for _, p := range run.peers[i.id()] {
		if p.kind == k && p.keyPairName == key && p.status != nil && p.status.Detach != nil &&
			p.status.Detach.Proof == ecsv1alpha1.DetachProofAnswer {
			i.setChange(metav1.ConditionTrue, k.already,
				fmt.Sprintf("%s was %s by %s while this object's answer was lost", key, k.past, p.name))
			return
		}
	}
	marker := run.now
	if i.status.DetachingSince != nil {
		marker = i.status.DetachingSince.Time
	}
	i.status.Detach = &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofSentMarker, At: metav1.Time{Time: marker}}
	run.startNewRebootDuty(i)
	i.setChange(metav1.ConditionTrue, k.done,
		fmt.Sprintf("%s %s by this object (the answer was lost; the instance was so at the next observation)", key, k.past))
}

// changedAny reports whether this object has changed the key pair anywhere, which makes a
// later disappearance of the key pair the normal end of its life rather than a typo.
func (run *run) changedAny() bool {
	for _, i := range run.table.ordered {
		if i.changeReason() == run.kind.done {
			return true
		}
	}
	return false
}
