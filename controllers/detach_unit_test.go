package controllers

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestDetachMarksOnlyTheGroupBeingSent: the Detaching marker is the proof that a call was
// sent, so when ECS receives a call, the stored status marks the group of batches whose budget
// was taken and whose calls leave at once, and no batch that still waits.
func TestDetachMarksOnlyTheGroupBeingSent(t *testing.T) {
	const n = (changeGroupSize + 1) * ecs.MaxDetachIDs
	ids := make([]string, n)
	for k := range ids {
		ids[k] = fmt.Sprintf("i-%04d", k)
	}
	w := newWorld(ids)
	obj := unitObject("a", ids, false)
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe}
	clock := &unitClock{t: bootedAt.Add(time.Hour)}
	r := unitReconciler(t, clock.now, cloud, obj)
	groupOf := func(id string) int {
		for k := range ids {
			if ids[k] == id {
				return k / (changeGroupSize * ecs.MaxDetachIDs)
			}
		}
		return -1
	}
	calls := 0
	cloud.DetachKeyPairFn = func(_ string, batch []string) (ecs.BatchResult, error) {
		calls++
		group := groupOf(batch[0])
		wantBudget := min(n/ecs.MaxDetachIDs, (group+1)*changeGroupSize)
		if got := cloud.calls["AwaitBudget"]; got != wantBudget {
			t.Errorf("call %d (group %d) sent after %d budget waits, want %d: every marked call's budget first", calls, group, got, wantBudget)
		}
		stored := latest(t, r.Client, obj)
		for _, s := range stored.Status.Instances {
			detaching := false
			for _, c := range s.Conditions {
				detaching = detaching || (c.Type == ecsv1alpha1.ConditionDetached && c.Reason == ecsv1alpha1.ReasonDetaching)
			}
			if detaching != (groupOf(s.InstanceID) == group) {
				t.Fatalf("call %d of group %d: %s marked Detaching=%t; only the group being sent is marked", calls, group, s.InstanceID, detaching)
			}
		}
		clock.t = clock.t.Add(time.Second)
		return w.detachAll(batch), nil
	}

	got, _, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if calls != n/ecs.MaxDetachIDs {
		t.Fatalf("%d calls, want %d", calls, n/ecs.MaxDetachIDs)
	}
	stamps := map[int]time.Time{}
	for _, id := range ids {
		s := instanceOf(t, got, id)
		if reasonOf(t, got, id, ecsv1alpha1.ConditionDetached) != "True/Detached" || s.Detach == nil ||
			s.Detach.Proof != ecsv1alpha1.DetachProofAnswer {
			t.Fatalf("%s: %s proof %+v, want Detached with ECS's answer", id, reasonOf(t, got, id, ecsv1alpha1.ConditionDetached), s.Detach)
		}
		g := groupOf(id)
		if at, ok := stamps[g]; ok && !at.Equal(s.Detach.At.Time) {
			t.Errorf("%s: proof stamped %s, its group's marker %s", id, s.Detach.At.Time, at)
		}
		stamps[g] = s.Detach.At.Time
	}
	if !stamps[1].After(stamps[0]) {
		t.Errorf("the second group's marker (%s) is not later than the first's (%s)", stamps[1], stamps[0])
	}
}

// TestDetachFailurePoints is the table of what each answer (or lack of one) of DetachKeyPair
// leaves in the status, over as many passes as the case needs.
func TestDetachFailurePoints(t *testing.T) {
	type step = func(w *world, ids []string) (ecs.BatchResult, error)
	perInstance := func(code string) step {
		return func(_ *world, ids []string) (ecs.BatchResult, error) {
			res := ecs.BatchResult{RequestID: "REQ"}
			for _, id := range ids {
				res.Results = append(res.Results, ecs.InstanceResult{InstanceID: id, Code: code, Message: "as ECS says"})
			}
			return res, nil
		}
	}
	succeed := func(w *world, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }
	lost := func(w *world, ids []string) (ecs.BatchResult, error) {
		w.detachAll(ids)
		return ecs.BatchResult{}, errLostAnswer
	}
	throttledWhileAPersonDetaches := func(w *world, ids []string) (ecs.BatchResult, error) {
		w.key["i-a"] = "" // a person, in the console, at the same moment
		return ecs.BatchResult{}, errThrottled
	}
	refusedWith := func(err error) step {
		return func(*world, []string) (ecs.BatchResult, error) { return ecs.BatchResult{}, err }
	}
	peerWithAnswer := unitObject("b", []string{"i-a"}, false)
	peerWithAnswer.UID = "uid-b"
	peerWithAnswer.Status.Instances = []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(bootedAt.Add(time.Hour)), "", nil)}

	cases := []struct {
		name         string
		reboot       bool
		peer         *ecsv1alpha1.KeyPairDetachment
		passes       int
		calls        []step // the answers to DetachKeyPair, in order; any further call fails
		wantDetached string
		wantProof    ecsv1alpha1.DetachProof
		wantRebooted string
		wantMessage  string
		wantRetries  int32
	}{
		{name: "success: detached, ECS's answer is the proof", passes: 2, calls: []step{succeed},
			wantDetached: "True/Detached", wantProof: ecsv1alpha1.DetachProofAnswer},
		{name: "throttled as a whole: the marker is withdrawn, nothing claimed",
			passes: 1, calls: []step{refusedWith(errThrottled)}, wantDetached: "Unknown/Pending", wantMessage: "Throttling.User"},
		{name: "never sent (refused dial): the marker is withdrawn",
			passes: 1, calls: []step{refusedWith(errNeverSent)}, wantDetached: "Unknown/Pending"},
		{name: "refused with a non-retryable code: the marker is withdrawn",
			passes: 1, calls: []step{refusedWith(&ecs.APIError{Code: "InvalidParameter", StatusCode: 400})}, wantDetached: "Unknown/Pending"},
		{name: "server fault (5xx): an error answer means ECS did nothing, the marker is withdrawn",
			passes: 1, calls: []step{refusedWith(errServerFault)}, wantDetached: "Unknown/Pending"},
		{name: "answer lost, key still on at the next pass: detached again, then ECS's answer is the proof",
			passes: 2, calls: []step{refusedWith(errLostAnswer), succeed}, wantDetached: "True/Detached",
			wantProof: ecsv1alpha1.DetachProofAnswer},
		{name: "answer lost, key gone at the next pass: claimed on the sent marker",
			passes: 2, calls: []step{lost}, wantDetached: "True/Detached", wantProof: ecsv1alpha1.DetachProofSentMarker},
		{name: "answer lost, but another object holds ECS's answer for it: not ours",
			peer: peerWithAnswer, passes: 2, calls: []step{lost}, wantDetached: "True/NotAttached", wantMessage: "ns/b"},
		{name: "a person detaches it while the batch is throttled: never claimed, never rebooted", reboot: true,
			passes: 2, calls: []step{throttledWhileAPersonDetaches}, wantDetached: "True/NotAttached", wantRebooted: "False/NotRequired"},
		{name: "InvalidKeyPair.NotAttached per instance: someone else's detach", reboot: true,
			passes: 2, calls: []step{perInstance(codeKeyPairNotAttached)}, wantDetached: "True/NotAttached", wantRebooted: "False/NotRequired"},
		{name: "IncorrectInstanceStatus is transient: Pending, not a failure, retries not spent",
			passes: 1, calls: []step{perInstance("IncorrectInstanceStatus")}, wantDetached: "Unknown/Pending", wantMessage: "IncorrectInstanceStatus"},
		{name: "no result for the instance: the marker stays until an observation settles it",
			passes: 1, calls: []step{perInstance(ecs.CodeNoInstanceResult)}, wantDetached: "Unknown/Detaching"},
		{name: "an unknown code is retried three times, then shown with its code",
			passes:       5,
			calls:        []step{perInstance("Weird.NewCode"), perInstance("Weird.NewCode"), perInstance("Weird.NewCode"), perInstance("Weird.NewCode")},
			wantDetached: "False/DetachFailed", wantMessage: "Weird.NewCode: as ECS says", wantRetries: maxUnknownCodeRetries},
		{name: "an unknown code then success: the retry count starts again",
			passes: 2, calls: []step{perInstance("Weird.NewCode"), succeed}, wantDetached: "True/Detached", wantProof: ecsv1alpha1.DetachProofAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld([]string{"i-a"})
			obj := unitObject("a", []string{"i-a"}, tc.reboot)
			objs := []*ecsv1alpha1.KeyPairDetachment{obj}
			if tc.peer != nil {
				objs = append(objs, tc.peer.DeepCopy())
			}
			cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe}
			cloud.DetachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) {
				n := cloud.calls["DetachKeyPair"] - 1
				if n >= len(tc.calls) {
					t.Fatalf("DetachKeyPair call %d; the case expects %d", n+1, len(tc.calls))
				}
				return tc.calls[n](w, ids)
			}
			r := unitReconciler(t, (&unitClock{t: bootedAt.Add(2 * time.Hour)}).now, cloud, objs...)
			var got *ecsv1alpha1.KeyPairDetachment
			for range tc.passes {
				got, _, _ = unitPass(t, r, obj)
			}
			if cloud.calls["DetachKeyPair"] != len(tc.calls) {
				t.Errorf("DetachKeyPair calls = %d, want %d", cloud.calls["DetachKeyPair"], len(tc.calls))
			}
			if cloud.calls["RebootInstances"] != 0 {
				t.Errorf("RebootInstances called %d times", cloud.calls["RebootInstances"])
			}
			if d := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionDetached); d != tc.wantDetached {
				t.Errorf("Detached = %s (%s), want %s", d, messageOf(t, got, "i-a", ecsv1alpha1.ConditionDetached), tc.wantDetached)
			}
			s := instanceOf(t, got, "i-a")
			switch {
			case tc.wantProof == "" && s.Detach != nil:
				t.Errorf("detach proof %+v recorded, want none: this object did not detach it", s.Detach)
			case tc.wantProof != "" && (s.Detach == nil || s.Detach.Proof != tc.wantProof):
				t.Errorf("detach proof %+v, want %s", s.Detach, tc.wantProof)
			}
			if tc.wantRebooted != "" {
				if rb := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted); rb != tc.wantRebooted {
					t.Errorf("Rebooted = %s, want %s", rb, tc.wantRebooted)
				}
			}
			if msg := messageOf(t, got, "i-a", ecsv1alpha1.ConditionDetached); !strings.Contains(msg, tc.wantMessage) {
				t.Errorf("message %q does not say %q", msg, tc.wantMessage)
			}
			if s.DetachRetries != tc.wantRetries {
				t.Errorf("detachRetries = %d, want %d", s.DetachRetries, tc.wantRetries)
			}
		})
	}
}

// TestObservationThatLosesEveryInstance: ECS answers a caller that lost DescribeInstances
// permission with an empty list, not an error. Instances seen before are then not turned into
// InstanceNotFound failures (which would halt the rollout); the object reports the problem.
func TestObservationThatLosesEveryInstance(t *testing.T) {
	none := func([]string) ([]ecs.Instance, error) { return nil, nil }
	cases := []struct {
		name       string
		seen       bool
		wantReady  string
		wantReason string
	}{
		{"instances seen before vanish at once: a permission problem on the object", true,
			"False/" + ecsv1alpha1.ReasonCredentialsError, "True/" + ecsv1alpha1.ReasonDetached},
		{"instances never seen: not found, as a typo would be", false,
			"False/" + ecsv1alpha1.ReasonPartiallyFailed, "False/" + ecsv1alpha1.ReasonInstanceNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids := []string{"i-a", "i-b"}
			obj := unitObject("a", ids, false)
			if tc.seen {
				for _, id := range ids {
					obj.Status.Instances = append(obj.Status.Instances, settled(id, answerAt(bootedAt), "", nil))
				}
			}
			cloud := &fakeECS{t: t, DescribeInstancesFn: none}
			r := unitReconciler(t, (&unitClock{t: bootedAt.Add(time.Hour)}).now, cloud, obj)
			got, _, _ := unitPass(t, r, obj)
			ready := "<none>"
			for _, c := range got.Status.Conditions {
				if c.Type == ecsv1alpha1.ConditionReady {
					ready = string(c.Status) + "/" + c.Reason
					if tc.seen && !strings.Contains(c.Message, "permission") {
						t.Errorf("Ready message %q does not say what probably happened", c.Message)
					}
				}
			}
			if ready != tc.wantReady {
				t.Errorf("Ready = %s, want %s", ready, tc.wantReady)
			}
			for _, id := range ids {
				if d := reasonOf(t, got, id, ecsv1alpha1.ConditionDetached); d != tc.wantReason {
					t.Errorf("%s: Detached = %s, want %s", id, d, tc.wantReason)
				}
			}
		})
	}
}

// TestUnknownCodeOfAWholeCallIsShownOnTheObject: a call refused with a code the operator does
// not know is retried with backoff, and the object says so while it is.
func TestUnknownCodeOfAWholeCallIsShownOnTheObject(t *testing.T) {
	obj := unitObject("a", []string{"i-a"}, false)
	cloud := &fakeECS{t: t, DescribeInstancesFn: func([]string) ([]ecs.Instance, error) {
		return nil, &ecs.APIError{Action: "DescribeInstances", Code: "Brand.NewCode", Message: "something new", StatusCode: 400}
	}}
	r := unitReconciler(t, (&unitClock{t: bootedAt}).now, cloud, obj)
	got, res, err := unitPass(t, r, obj)
	if err != nil || res.RequeueAfter <= 0 || res.RequeueAfter > backoffCap {
		t.Fatalf("pass = %+v, %v; want a requeue within the %s cap", res, err, backoffCap)
	}
	var ready, stalled string
	for _, c := range got.Status.Conditions {
		switch c.Type {
		case ecsv1alpha1.ConditionReady:
			ready = string(c.Status) + "/" + c.Reason + ": " + c.Message
		case ecsv1alpha1.ConditionStalled:
			stalled = string(c.Status)
		}
	}
	if !strings.HasPrefix(ready, "False/InProgress") || !strings.Contains(ready, "Brand.NewCode") {
		t.Errorf("Ready = %q, want InProgress naming the code", ready)
	}
	if stalled != "False" {
		t.Errorf("Stalled = %s: retrying is progress, not a stall", stalled)
	}
	if d := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionDetached); d != "Unknown/Pending" {
		t.Errorf("instance %s; nothing was marked", d)
	}
}

// TestRefusedDetachIsWithdrawnBeforeItIsSentAgain: within one pass, a batch ECS refuses is
// sent again, but only after its markers were withdrawn in the stored status.
func TestRefusedDetachIsWithdrawnBeforeItIsSentAgain(t *testing.T) {
	w := newWorld([]string{"i-a"})
	obj := unitObject("a", []string{"i-a"}, false)
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe}
	var r *Reconciler
	var versions []int
	cloud.DetachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) {
		stored := latest(t, r.Client, obj)
		v, _ := strconv.Atoi(stored.ResourceVersion)
		versions = append(versions, v)
		if got := reasonOf(t, stored, "i-a", ecsv1alpha1.ConditionDetached); got != "Unknown/Detaching" {
			t.Errorf("call %d sent with the stored condition %s", len(versions), got)
		}
		if len(versions) == 1 {
			return ecs.BatchResult{}, errServerFault
		}
		return w.detachAll(ids), nil
	}
	r = unitReconciler(t, (&unitClock{t: bootedAt}).now, cloud, obj)
	r.retry = retryPolicy{attempts: 3, baseDelay: time.Millisecond, maxDelay: time.Millisecond, budget: time.Minute}
	got, _, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[1]-versions[0] < 2 {
		t.Fatalf("resource versions at the calls %v: want the withdrawal and a new marker written between them", versions)
	}
	if d := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionDetached); d != "True/Detached" {
		t.Errorf("Detached = %s", d)
	}
}
