package controllers

import (
	"context"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/types"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestDeletedObjectLeavesNothingBehind: once an object is gone, its metric series, its
// full-pass and backoff memory and its place in the shared poller are released.
func TestDeletedObjectLeavesNothingBehind(t *testing.T) {
	w := newWorld([]string{"i-a"})
	obj := unitObject("leaves-nothing", []string{"i-a"}, true)
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil },
		RebootInstancesFn: func(ids []string, _ bool) (ecs.BatchResult, error) {
			w.status["i-a"] = ecs.StatusStopping
			return allSucceed(ids), nil
		}}
	r := unitReconciler(t, (&unitClock{t: bootedAt}).now, cloud, obj)
	if _, _, err := unitPass(t, r, obj); err != nil {
		t.Fatal(err)
	}
	name := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	if _, ok := r.fullPasses.Load(obj.UID); !ok {
		t.Fatal("no full-pass memory after a pass")
	}
	if n := seriesOf(obj.Name); n != 7 {
		t.Fatalf("%d gauge series after a pass, want 7 (5 outcomes, reboots in flight, the cap)", n)
	}
	if len(r.poller.scope(scopeOf("cn-hangzhou", nil)).watching) == 0 {
		t.Fatal("the object does not watch its reboot in the poller")
	}

	stored := latest(t, r.Client, obj)
	stored.Finalizers = nil
	if err := r.Update(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(context.Background(), requestFor(obj)); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.fullPasses.Load(obj.UID); ok {
		t.Error("full-pass memory kept after the object was deleted")
	}
	if _, ok := r.uids.Load(name); ok {
		t.Error("name kept after the object was deleted")
	}
	if n := seriesOf(obj.Name); n != 0 {
		t.Errorf("%d gauge series of the deleted object are still there", n)
	}
	for key, s := range r.poller.scopes {
		if len(s.watching) != 0 {
			t.Errorf("scope %s still watches for %v", key, s.watching)
		}
	}
}

// seriesOf counts the series of the per-object gauges for the object called name.
func seriesOf(name string) int {
	ch := make(chan prometheus.Metric, 1024)
	instancesByOutcome.Collect(ch)
	rebootsInFlight.Collect(ch)
	rebootCap.Collect(ch)
	close(ch)
	n := 0
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			continue
		}
		for _, l := range out.GetLabel() {
			if l.GetName() == "name" && l.GetValue() == name {
				n++
			}
		}
	}
	return n
}

// releasingFactory is a factory that records which budgets it was told to release.
type releasingFactory struct {
	fakeFactory
	released []string
}

func (f *releasingFactory) Release(region string, creds *ecs.Credentials) {
	who := "manager"
	if creds != nil {
		who = creds.AccessKeyID
	}
	f.released = append(f.released, region+"/"+who)
}

// TestBudgetReleasedWithItsLastObject: a rate budget shared by two objects stays while one is
// left, and is released with the last.
func TestBudgetReleasedWithItsLastObject(t *testing.T) {
	w := newWorld([]string{"i-a", "i-b"})
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }}
	a, b := unitObject("a", []string{"i-a"}, false), unitObject("b", []string{"i-b"}, false)
	r := unitReconciler(t, (&unitClock{t: bootedAt}).now, cloud, a, b)
	factory := &releasingFactory{fakeFactory: fakeFactory{cloud}}
	r.ECS = factory
	for _, obj := range []*ecsv1alpha1.KeyPairDetachment{a, b} {
		if _, _, err := unitPass(t, r, obj); err != nil {
			t.Fatal(err)
		}
	}
	deleteAndReconcile := func(obj *ecsv1alpha1.KeyPairDetachment) {
		t.Helper()
		if err := r.Delete(context.Background(), latest(t, r.Client, obj)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reconcile(context.Background(), requestFor(obj)); err != nil {
			t.Fatal(err)
		}
	}
	deleteAndReconcile(a)
	if len(factory.released) != 0 {
		t.Fatalf("released %v while object b still uses the budget", factory.released)
	}
	deleteAndReconcile(b)
	if want := []string{"cn-hangzhou/manager"}; !slices.Equal(factory.released, want) {
		t.Fatalf("released %v, want %v", factory.released, want)
	}
}
