package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestRebootsStartOnlyInsideTheWindow walks a manager clock through a Monday 02:00–03:00 window
// with two due reboots and maxConcurrent 1: none starts before the opening, the object waits
// for the opening rather than polling, the one started inside finishes after the close while
// the other waits a week for the next opening.
func TestRebootsStartOnlyInsideTheWindow(t *testing.T) {
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	detachedAt := monday.Add(-time.Hour)
	w := newWorld([]string{"i-a", "i-b"})
	w.key["i-a"], w.key["i-b"] = "", ""
	clock := &unitClock{t: monday.Add(90 * time.Minute)} // 01:30, half an hour before the opening
	var rebooted []string
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		RebootInstancesFn: func(ids []string, _ bool) (ecs.BatchResult, error) {
			rebooted = append(rebooted, ids...)
			for _, id := range ids {
				w.start[id] = clock.t.Add(time.Minute).Truncate(time.Minute)
			}
			return allSucceed(ids), nil
		}}
	obj := unitObject("win", []string{"i-a", "i-b"}, true)
	obj.Spec.Reboot.MaxConcurrent = 1
	obj.Spec.Reboot.Timeout = &metav1.Duration{Duration: 24 * time.Hour}
	obj.Spec.Reboot.Window = &ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{"Monday"}, StartTime: "02:00", EndTime: "03:00", TimeZone: "UTC"}
	obj.Status.Instances = []ecsv1alpha1.InstanceStatus{
		settled("i-a", answerAt(detachedAt), ecsv1alpha1.ReasonPending, nil),
		settled("i-b", answerAt(detachedAt), ecsv1alpha1.ReasonPending, nil)}
	r := unitReconciler(t, clock.now, cloud, obj)

	steps := []struct {
		at           time.Duration // since Monday 00:00
		wantRebooted []string
		wantA, wantB string
		wantReady    string
		wantRequeue  time.Duration // 0: not checked
	}{
		{at: 90 * time.Minute, wantA: "Unknown/WaitingForWindow", wantB: "Unknown/WaitingForWindow",
			wantReady: "False/WaitingForWindow", wantRequeue: 30*time.Minute + time.Second},
		{at: 2*time.Hour + 30*time.Second, wantRebooted: []string{"i-a"}, wantA: "Unknown/Rebooting", wantB: "Unknown/Pending",
			wantReady: "False/InProgress", wantRequeue: time.Second},
		{at: 3*time.Hour + 10*time.Minute, wantRebooted: []string{"i-a"}, wantA: "True/Rebooted", wantB: "Unknown/WaitingForWindow",
			wantReady: "False/WaitingForWindow", wantRequeue: time.Hour}, // the resync comes before next Monday
		{at: 7*24*time.Hour + 2*time.Hour, wantRebooted: []string{"i-a", "i-b"}, wantA: "True/Rebooted", wantB: "Unknown/Rebooting",
			wantReady: "False/InProgress"},
	}
	for n, step := range steps {
		clock.t = monday.Add(step.at)
		got, res, err := unitPass(t, r, obj)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if len(rebooted) != len(step.wantRebooted) {
			t.Errorf("step %d (%s): rebooted %v, want %v", n, clock.t.Format("Mon 15:04"), rebooted, step.wantRebooted)
		}
		a, b := reasonOf(t, got, "i-a", ecsv1alpha1.ConditionRebooted), reasonOf(t, got, "i-b", ecsv1alpha1.ConditionRebooted)
		if a != step.wantA || b != step.wantB {
			t.Errorf("step %d (%s): i-a %s, i-b %s; want %s, %s", n, clock.t.Format("Mon 15:04"), a, b, step.wantA, step.wantB)
		}
		if ready := objectReason(got, ecsv1alpha1.ConditionReady); ready != step.wantReady {
			t.Errorf("step %d: Ready %s, want %s", n, ready, step.wantReady)
		}
		if objectReason(got, ecsv1alpha1.ConditionStalled) != "False/Progressing" {
			t.Errorf("step %d: waiting for a window is not stalled: %s", n, objectReason(got, ecsv1alpha1.ConditionStalled))
		}
		if step.wantRequeue == time.Hour {
			if res.RequeueAfter < time.Hour || res.RequeueAfter > 2*time.Hour {
				t.Errorf("step %d: requeue %s, want the resync", n, res.RequeueAfter)
			}
		} else if step.wantRequeue != 0 && res.RequeueAfter != step.wantRequeue {
			t.Errorf("step %d: requeue %s, want %s", n, res.RequeueAfter, step.wantRequeue)
		}
	}
}
