package controllers

import (
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestRebootFailurePoints is the table of what each answer of RebootInstances, and each user
// action between passes, does to an instance this object detached: at most one reboot per
// detach, at most two requests, and only a request that provably never left is repeated.
func TestRebootFailurePoints(t *testing.T) {
	detachedAt := bootedAt.Add(time.Hour)
	type env struct {
		w     *world
		clock *unitClock
		obj   *ecsv1alpha1.KeyPairDetachment
		r     *Reconciler
		t     *testing.T
	}
	// spec changes the stored spec, as kubectl edit would.
	spec := func(change func(*ecsv1alpha1.KeyPairDetachmentSpec)) func(*env) {
		return func(e *env) {
			stored := latest(e.t, e.r.Client, e.obj)
			change(&stored.Spec)
			stored.Generation++
			if err := e.r.Update(t.Context(), stored); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	reboot := func(e *env, ids []string) ecs.BatchResult {
		for _, id := range ids {
			e.w.start[id] = e.clock.t.Add(30 * time.Second).Truncate(time.Minute).Add(time.Minute)
		}
		return allSucceed(ids)
	}
	type call = func(e *env, ids []string) (ecs.BatchResult, error)
	accept := func(e *env, ids []string) (ecs.BatchResult, error) { return reboot(e, ids), nil }
	lostAfterReboot := func(e *env, ids []string) (ecs.BatchResult, error) {
		reboot(e, ids)
		return ecs.BatchResult{}, errLostAnswer
	}
	lostUnknown := func(*env, []string) (ecs.BatchResult, error) { return ecs.BatchResult{}, errLostAnswer }
	refused := func(err error) call {
		return func(*env, []string) (ecs.BatchResult, error) { return ecs.BatchResult{}, err }
	}
	perInstance := func(code string) call {
		return func(_ *env, ids []string) (ecs.BatchResult, error) {
			return ecs.BatchResult{RequestID: "R", Results: []ecs.InstanceResult{{InstanceID: ids[0], Code: code, Message: "says ECS"}}}, nil
		}
	}
	later := func(d time.Duration) func(*env) { return func(e *env) { e.clock.t = e.clock.t.Add(d) } }
	halt := spec(func(s *ecsv1alpha1.KeyPairDetachmentSpec) { s.Reboot.MaxFailures = 0 })
	resume := spec(func(s *ecsv1alpha1.KeyPairDetachmentSpec) { s.Reboot.MaxFailures = 5 })

	cases := []struct {
		name         string
		seed         []ecsv1alpha1.InstanceStatus // i-a is the instance under test
		maxFailures  int32
		peer         *ecsv1alpha1.KeyPairDetachment
		between      []func(*env) // run after each pass; len+1 passes
		calls        []call
		wantRebooted string
		wantAttempts int32
		wantBy       string
		wantMessage  string
	}{
		{name: "accepted, then Running with a later StartTime: Rebooted",
			seed: []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)}, between: []func(*env){later(time.Minute)},
			calls: []call{accept}, wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "throttled as a whole: withdrawn, not counted, asked again",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Second), later(time.Minute)},
			calls:   []call{refused(errThrottled), accept}, wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "a 5xx answer: ECS did nothing, withdrawn, not counted, asked again",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Second), later(time.Minute)},
			calls:   []call{refused(errServerFault), accept}, wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "never sent twice: RebootFailed, never a third request",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Second), later(time.Second), later(time.Hour)},
			calls:   []call{refused(errNeverSent), refused(errNeverSent)}, wantRebooted: "False/RebootFailed", wantAttempts: 2,
			wantMessage: "never reached ECS"},
		{name: "answer lost and no sign of a reboot: never asked again, RebootUnconfirmed after the timeout",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Minute), later(20 * time.Minute)},
			calls:   []call{lostUnknown}, wantRebooted: "False/RebootUnconfirmed", wantAttempts: 1},
		{name: "answer lost but StartTime moved: Rebooted",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(2 * time.Minute)},
			calls:   []call{lostAfterReboot}, wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "IncorrectInstanceStatus per instance: withdrawn, not counted",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Second), later(time.Minute)},
			calls:   []call{perInstance("IncorrectInstanceStatus"), accept}, wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "refused per instance with a terminal code: RebootFailed with the code",
			seed:    []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)},
			between: []func(*env){later(time.Hour)},
			calls:   []call{perInstance("InvalidInstance.NotSupported")}, wantRebooted: "False/RebootFailed", wantAttempts: 1,
			wantMessage: "InvalidInstance.NotSupported"},
		{name: "rebooted, then reboot.enabled off and on: no second reboot, the condition stays",
			seed: []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), ecsv1alpha1.ReasonRebooted,
				&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: detachedAt.Add(time.Minute)}})},
			between: []func(*env){
				spec(func(s *ecsv1alpha1.KeyPairDetachmentSpec) { s.Reboot.Enabled = false }),
				spec(func(s *ecsv1alpha1.KeyPairDetachmentSpec) { s.Reboot.Enabled = true }),
				spec(func(s *ecsv1alpha1.KeyPairDetachmentSpec) {
					s.Reboot.MaxConcurrent = 50
					s.Reboot.Timeout.Duration = time.Hour
				}),
			},
			wantRebooted: "True/Rebooted", wantAttempts: 1},
		{name: "halt, resume, halt, resume after a never-sent request: one more request at most",
			seed: []ecsv1alpha1.InstanceStatus{
				settled("i-a", answerAt(detachedAt), ecsv1alpha1.ReasonPending, &ecsv1alpha1.RebootRecord{Attempts: 1}),
				settled("i-bad", answerAt(detachedAt), ecsv1alpha1.ReasonRebootFailed,
					&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: detachedAt}})},
			maxFailures: 0,
			between:     []func(*env){resume, halt, resume, later(time.Second), halt, resume, later(time.Second)},
			calls:       []call{refused(errNeverSent)}, wantRebooted: "False/RebootFailed", wantAttempts: 2},
		{name: "another object rebooted it after its detach: RebootedByOther, no call",
			seed: []ecsv1alpha1.InstanceStatus{settled("i-a", nil, "", nil)},
			peer: func() *ecsv1alpha1.KeyPairDetachment {
				b := unitObject("b", []string{"i-a"}, true)
				b.Status.Instances = []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), ecsv1alpha1.ReasonRebooted,
					&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: detachedAt.Add(time.Minute)}})}
				return b
			}(),
			wantRebooted: "True/RebootedByOther", wantBy: "ns/b", wantMessage: "ns/b"},
		{name: "the object that detached it has reboot disabled: this object reboots it",
			seed: []ecsv1alpha1.InstanceStatus{settled("i-a", nil, "", nil)},
			peer: func() *ecsv1alpha1.KeyPairDetachment {
				b := unitObject("b", []string{"i-a"}, false)
				b.Status.Instances = []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)}
				return b
			}(),
			between: []func(*env){later(time.Minute)},
			calls:   []call{accept}, wantRebooted: "True/Rebooted", wantAttempts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids := make([]string, 0, len(tc.seed))
			for _, s := range tc.seed {
				ids = append(ids, s.InstanceID)
			}
			e := &env{w: newWorld(ids), clock: &unitClock{t: detachedAt.Add(5 * time.Minute)}, t: t}
			for _, id := range ids {
				e.w.key[id] = ""
			}
			e.obj = unitObject("a", ids, true)
			e.obj.Spec.Reboot.MaxFailures = tc.maxFailures
			e.obj.Status.Instances = tc.seed
			objs := []*ecsv1alpha1.KeyPairDetachment{e.obj}
			if tc.peer != nil {
				objs = append(objs, tc.peer)
			}
			cloud := &fakeECS{t: t, DescribeInstancesFn: e.w.describe}
			cloud.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) {
				n := cloud.calls["RebootInstances"] - 1
				if n >= len(tc.calls) {
					t.Fatalf("RebootInstances call %d for %v; the case allows %d", n+1, ids, len(tc.calls))
				}
				return tc.calls[n](e, ids)
			}
			e.r = unitReconciler(t, e.clock.now, cloud, objs...)
			got, _, _ := unitPass(t, e.r, e.obj)
			for _, step := range tc.between {
				step(e)
				got, _, _ = unitPass(t, e.r, e.obj)
			}
			if cloud.calls["RebootInstances"] != len(tc.calls) {
				t.Errorf("RebootInstances calls = %d, want %d", cloud.calls["RebootInstances"], len(tc.calls))
			}
			if cloud.calls["DetachKeyPair"] != 0 {
				t.Errorf("DetachKeyPair called %d times", cloud.calls["DetachKeyPair"])
			}
			if rb := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted); rb != tc.wantRebooted {
				t.Errorf("Rebooted = %s (%s), want %s", rb, messageOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted), tc.wantRebooted)
			}
			rec := instanceOf(t, got, "i-a").Reboot
			if rec == nil {
				t.Fatalf("no reboot record")
			}
			if rec.Attempts != tc.wantAttempts || rec.By != tc.wantBy {
				t.Errorf("reboot record %+v, want attempts %d by %q", rec, tc.wantAttempts, tc.wantBy)
			}
			if msg := messageOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted); !strings.Contains(msg, tc.wantMessage) {
				t.Errorf("message %q does not say %q", msg, tc.wantMessage)
			}
		})
	}
}

// TestRefusedRebootIsWithdrawnBeforeItIsAskedAgain: within one pass, a reboot request ECS
// refuses is asked again, but only after its markers were withdrawn in the stored status, so
// that a crash between the two never leaves a marker for the refused request.
func TestRefusedRebootIsWithdrawnBeforeItIsAskedAgain(t *testing.T) {
	w, obj, clock, cloud := detachedAwaitingReboot(t)
	var r *Reconciler
	var versions []string
	cloud.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) {
		stored := latest(t, r.Client, obj)
		versions = append(versions, stored.ResourceVersion)
		if got := reasonOf(t, stored, "i-a", ecsv1alpha1.ConditionRebooted); got != "Unknown/RebootRequested" {
			t.Errorf("request %d sent with the stored condition %s", len(versions), got)
		}
		if a := instanceOf(t, stored, "i-a").Reboot.Attempts; a != 1 {
			t.Errorf("request %d sent with %d attempts stored; a refused request does not count", len(versions), a)
		}
		if len(versions) < 3 {
			return ecs.BatchResult{}, errThrottled
		}
		w.start["i-a"] = clock.t.Add(time.Minute)
		return allSucceed(ids), nil
	}
	r = unitReconciler(t, clock.now, cloud, obj)
	r.retry = retryPolicy{attempts: 3, baseDelay: time.Millisecond, maxDelay: time.Millisecond, budget: time.Minute}
	got, _, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 3 {
		t.Fatalf("%d requests in the pass, want 3", len(versions))
	}
	for n := 1; n < len(versions); n++ {
		before, _ := strconv.Atoi(versions[n-1])
		after, _ := strconv.Atoi(versions[n])
		if after-before < 2 {
			t.Errorf("between requests %d and %d the status was written %d times; want the withdrawal and the new marker",
				n, n+1, after-before)
		}
	}
	if rb := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted); rb != "Unknown/Rebooting" {
		t.Errorf("after the accepted request: %s", rb)
	}
}
