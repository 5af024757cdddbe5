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
		got, err := p.observe(ctx, cloud, "cn-hangzhou/manager", owner, ids)
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
	if len(pages) != 2 || !slices.Equal(pages[1], []string{"b1", "b2", "a1", "a2", "a3"}) {
		t.Fatalf("pages %v: b's page must carry a's instances too", pages)
	}
	observe(a, idsA)
	if len(pages) != 2 {
		t.Fatalf("a fresh shared observation was not reused: %d calls", len(pages))
	}

	p.changed("cn-hangzhou/manager", []string{"a1"}) // a asks ECS to reboot a1
	w.status["a1"] = ecs.StatusStopping
	if got := observe(a, idsA); got["a1"].instance.Status != ecs.StatusStopping {
		t.Errorf("a1 read %s from before the reboot request", got["a1"].instance.Status)
	}
	if len(pages) != 3 {
		t.Fatalf("%d calls: an observation older than the request must not be used", len(pages))
	}

	clock.t = clock.t.Add(2 * time.Second) // both stale
	w.status["a2"] = ecs.StatusStopping
	observe(b, idsB)
	if !slices.Equal(woken, []types.NamespacedName{a}) {
		t.Errorf("woken %v; a's instance a2 changed in b's observation", woken)
	}
	if got := observe(a, idsA); got["a2"].instance.Status != ecs.StatusStopping {
		t.Errorf("a reads a2 %s from b's observation", got["a2"].instance.Status)
	}

	if _, err := p.observe(ctx, cloud, "cn-beijing/manager", a, []string{"a1"}); err != nil {
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
