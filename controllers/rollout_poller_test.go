package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestRolloutPollerSharesObservations: passes of objects on the same identity and region
// share DescribeInstances pages; an observation is reused only while fresh and only when it
// was taken after the last reboot request; owners whose instances changed are woken.
func TestRolloutPollerSharesObservations(t *testing.T) {
	clock := &unitClock{t: bootedAt}
	idsA, idsB := []string{"a1", "a2", "a3"}, []string{"b1", "b2"}
	w := newWorld(slices.Concat(idsA, idsB))
	var pages [][]string
	cloud := &fakeECS{t: t, DescribeInstancesFn: func(ids []string) ([]ecs.Instance, error) {
		pages = append(pages, ids)
		return w.describe(ids)
	}}
	var woken []types.NamespacedName
	p := newRolloutPoller(time.Second, clock.now, func(n types.NamespacedName) { woken = append(woken, n) })
	a, b := types.NamespacedName{Namespace: "ns", Name: "a"}, types.NamespacedName{Namespace: "ns", Name: "b"}
	ctx := context.Background()
	observe := func(owner types.NamespacedName, ids []string) map[string]polled {
		t.Helper()
		got, err := p.observe(ctx, cloud, "cn-hangzhou/manager", owner, ids, ids, allInFlight(ids), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				t.Fatalf("%s: no observation of %s", owner.Name, id)
			}
		}
		return got
	}

	observe(a, idsA)
	observe(b, idsB)
	if len(pages) != 2 || !slices.Equal(pages[1], []string{"b1", "b2"}) {
		t.Fatalf("pages %v: a's fresh observations need no refresh", pages)
	}
	clock.t = clock.t.Add(2 * time.Second) // a's observations are stale now
	w.status["b1"] = ecs.StatusStopping
	observe(b, idsB)
	if len(pages) != 3 || !slices.Equal(pages[2], []string{"b1", "b2", "a1", "a2", "a3"}) {
		t.Fatalf("pages %v: b's page must carry a's stale instances too", pages)
	}
	observe(a, idsA)
	if len(pages) != 3 {
		t.Fatalf("a fresh shared observation was not reused: %d calls", len(pages))
	}

	p.changed("cn-hangzhou/manager", []string{"a1"}) // a asks ECS to reboot a1
	w.status["a1"] = ecs.StatusStopping
	if got := observe(a, idsA); got["a1"].status != ecs.StatusStopping {
		t.Errorf("a1 read %s from before the reboot request", got["a1"].status)
	}
	if len(pages) != 4 {
		t.Fatalf("%d calls: an observation older than the request must not be used", len(pages))
	}

	clock.t = clock.t.Add(2 * time.Second) // both stale
	w.status["a2"] = ecs.StatusStopping
	woken = nil
	observe(b, idsB)
	if !slices.Equal(woken, []types.NamespacedName{a}) {
		t.Errorf("woken %v; a's instance a2 changed in b's observation", woken)
	}
	if got := observe(a, idsA); got["a2"].status != ecs.StatusStopping {
		t.Errorf("a reads a2 %s from b's observation", got["a2"].status)
	}

	if _, err := p.observe(ctx, cloud, "cn-beijing/manager", a, []string{"a1"}, []string{"a1"}, allInFlight([]string{"a1"}), nil); err != nil {
		t.Fatal(err)
	}
	if last := pages[len(pages)-1]; !slices.Equal(last, []string{"a1"}) {
		t.Errorf("another region shared a page: %v", last)
	}

	p.forget(a)
	p.forget(b)
	for key, s := range p.scopes {
		if len(s.watching)+len(s.seen)+len(s.changedAt) != 0 {
			t.Errorf("%s keeps %d watchers, %d observations, %d changes after every owner left",
				key, len(s.watching), len(s.seen), len(s.changedAt))
		}
	}
}

// TestFillPagesNeverAddsACall: other objects' instances only fill the room of the last page.
func TestFillPagesNeverAddsACall(t *testing.T) {
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	for _, tc := range []struct{ own, others, wantPages, wantLast int }{
		{5, 0, 1, 5}, {5, 10, 1, 15}, {5, 200, 1, 100}, {150, 80, 2, 100}, {200, 10, 2, 100},
	} {
		pages := fillPages(ids("o", tc.own), ids("x", tc.others), 100)
		if len(pages) != tc.wantPages || len(pages[len(pages)-1]) != tc.wantLast {
			t.Errorf("own %d others %d: %d pages, last of %d; want %d, %d",
				tc.own, tc.others, len(pages), len(pages[len(pages)-1]), tc.wantPages, tc.wantLast)
		}
	}
}

func allInFlight(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// TestRolloutPollerReusesWhatPassesObserved: a candidate for the next reboots may use any
// observation made since the last change, including one a pass made itself; an instance in
// flight needs a fresh one.
func TestRolloutPollerReusesWhatPassesObserved(t *testing.T) {
	clock := &unitClock{t: bootedAt}
	w := newWorld([]string{"f1", "d1"})
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe}
	p := newRolloutPoller(time.Second, clock.now, nil)
	a := types.NamespacedName{Namespace: "ns", Name: "a"}
	ids := []string{"f1", "d1"}
	inFlight := map[string]bool{"f1": true}
	known := map[string]polled{
		"f1": {status: ecs.StatusRunning, found: true, startedAt: clock.t},
		"d1": {status: ecs.StatusRunning, found: true, startedAt: clock.t},
	}
	clock.t = clock.t.Add(time.Millisecond)
	if _, err := p.observe(context.Background(), cloud, "k", a, ids, ids, inFlight, known); err != nil {
		t.Fatal(err)
	}
	if n := cloud.calls["DescribeInstances"]; n != 0 {
		t.Fatalf("%d calls: what the pass observed itself was not used", n)
	}
	clock.t = clock.t.Add(time.Hour)
	var pages [][]string
	cloud.DescribeInstancesFn = func(ids []string) ([]ecs.Instance, error) { pages = append(pages, ids); return w.describe(ids) }
	if _, err := p.observe(context.Background(), cloud, "k", a, ids, ids, inFlight, nil); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || !slices.Equal(pages[0], []string{"f1"}) {
		t.Errorf("pages %v: only the instance in flight needs a fresh observation", pages)
	}
}

// TestFinishedRolloutLeavesThePoller: once a pass settles every reboot, the object's
// candidates leave the shared poller at once, not at its next pass a resync period later.
func TestFinishedRolloutLeavesThePoller(t *testing.T) {
	ids := []string{"i-s1", "i-s2", "i-s3"}
	w := newWorld(ids)
	for _, id := range ids {
		w.status[id] = ecs.StatusStopped
	}
	obj := unitObject("stopped", ids, true)
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }}
	r := unitReconciler(t, (&unitClock{t: bootedAt}).now, cloud, obj)
	got, _, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Status.Summary.Detached; n != 3 {
		t.Fatalf("detached %d, want 3", n)
	}
	for _, s := range r.poller.scopes {
		if len(s.watching) != 0 || len(s.seen) != 0 {
			t.Errorf("the poller still holds %d watchers and %d observations after the rollout settled",
				len(s.watching), len(s.seen))
		}
	}
}
