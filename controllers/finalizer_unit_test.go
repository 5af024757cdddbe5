package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestDeletionMidRollout: a deleted object starts no reboot, lets the one in flight settle
// (at most spec.reboot.timeout), then lets go and names what it detached but did not reboot.
func TestDeletionMidRollout(t *testing.T) {
	detachedAt := bootedAt.Add(time.Hour)
	requestedAt := detachedAt.Add(time.Minute)
	cases := []struct {
		name string
		// ecs plays what ECS shows of the instance in flight at each pass after the first.
		ecs          func(w *world)
		wait         time.Duration
		wantNamed    []string
		wantNotNamed []string
	}{
		{name: "the reboot in flight completes: only the instance never rebooted is named",
			ecs:       func(w *world) { w.start["i-flight"] = requestedAt.Add(2 * time.Minute).Truncate(time.Minute) },
			wait:      time.Minute,
			wantNamed: []string{"i-waiting"}, wantNotNamed: []string{"i-flight", "i-done"}},
		{name: "the reboot in flight never shows: let go after the timeout, both named",
			ecs:       func(*world) {},
			wait:      20 * time.Minute,
			wantNamed: []string{"i-waiting", "i-flight"}, wantNotNamed: []string{"i-done"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids := []string{"i-done", "i-flight", "i-waiting"}
			w := newWorld(ids)
			for _, id := range ids {
				w.key[id] = ""
			}
			obj := unitObject("a", ids, true)
			obj.Finalizers = []string{ecsv1alpha1.FinalizerRebootsInFlight}
			obj.DeletionTimestamp = &metav1.Time{Time: requestedAt.Add(time.Minute)}
			obj.Status.Instances = []ecsv1alpha1.InstanceStatus{
				settled("i-done", answerAt(detachedAt), ecsv1alpha1.ReasonRebooted,
					&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: requestedAt}}),
				settled("i-flight", answerAt(detachedAt), ecsv1alpha1.ReasonRebootRequested,
					&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: requestedAt},
						StartTimeBefore: &metav1.Time{Time: bootedAt}}),
				settled("i-waiting", answerAt(detachedAt), ecsv1alpha1.ReasonPending, nil),
			}
			clock := &unitClock{t: requestedAt.Add(2 * time.Minute)}
			cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe} // no Detach, no Reboot: any call fails
			r := unitReconciler(t, clock.now, cloud, obj)

			got, res, err := unitPass(t, r, obj)
			if err != nil || res.RequeueAfter == 0 {
				t.Fatalf("first pass = %+v, %v; want a requeue while the reboot is in flight", res, err)
			}
			if !slices.Contains(got.Finalizers, ecsv1alpha1.FinalizerRebootsInFlight) {
				t.Fatal("the finalizer went while a reboot was in flight")
			}
			if rb := reasonOf(t, got, "i-waiting", ecsv1alpha1.ConditionRebooted); rb != "Unknown/Pending" {
				t.Errorf("i-waiting: %s; a deleted object starts no reboot", rb)
			}

			tc.ecs(w)
			clock.t = clock.t.Add(tc.wait)
			if _, err := r.Reconcile(context.Background(), requestFor(obj)); err != nil {
				t.Fatal(err)
			}
			if err := r.Get(context.Background(), client.ObjectKeyFromObject(obj), &ecsv1alpha1.KeyPairDetachment{}); !apierrors.IsNotFound(err) {
				t.Fatalf("after the reboot settled the object is still there (%v)", err)
			}
			var warning string
			for _, e := range recordedEvents(r) {
				if strings.Contains(e, "DeletedBeforeReboot") {
					warning = e
				}
			}
			if !strings.HasPrefix(warning, "Warning DeletedBeforeReboot") {
				t.Fatalf("no Warning DeletedBeforeReboot event")
			}
			for _, id := range tc.wantNamed {
				if !strings.Contains(warning, id) {
					t.Errorf("the event does not name %s: %s", id, warning)
				}
			}
			for _, id := range tc.wantNotNamed {
				if strings.Contains(warning, id) {
					t.Errorf("the event names %s, which was rebooted: %s", id, warning)
				}
			}
			if cloud.calls["RebootInstances"]+cloud.calls["DetachKeyPair"] != 0 {
				t.Errorf("calls %v; a deleted object changes nothing", cloud.calls)
			}
		})
	}
}

// TestFinalizerOnlyWhileRebootsAreInFlight: the finalizer is added before the first reboot
// marker and removed once nothing is left to do, so deleting a finished object never waits.
func TestFinalizerOnlyWhileRebootsAreInFlight(t *testing.T) {
	w, obj, clock, cloud := detachedAwaitingReboot(t)
	var r *Reconciler
	cloud.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) {
		if stored := latest(t, r.Client, obj); !slices.Contains(stored.Finalizers, ecsv1alpha1.FinalizerRebootsInFlight) {
			t.Error("RebootInstances sent before the finalizer was stored")
		}
		w.start["i-a"] = clock.t.Add(time.Minute).Truncate(time.Minute)
		return allSucceed(ids), nil
	}
	r = unitReconciler(t, clock.now, cloud, obj)
	if _, _, err := unitPass(t, r, obj); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(2 * time.Minute)
	got, _, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if rb := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted); rb != "True/Rebooted" {
		t.Fatalf("Rebooted = %s", rb)
	}
	if len(got.Finalizers) != 0 {
		t.Errorf("finalizers %v remain after the rollout finished", got.Finalizers)
	}
}
