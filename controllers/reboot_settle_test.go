package controllers

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestSettleInFlight is the decision table that keeps reboots exactly-once after a crash or a
// lost answer: what an instance in RebootRequested or Rebooting becomes, given what ECS shows.
// Every case runs with the manager's clock right, 5 minutes ahead and 5 minutes behind: the
// outcome rests on ECS's evidence, never on comparing ECS times with the manager's clock.
func TestSettleInFlight(t *testing.T) {
	trueMarker := time.Date(2026, 11, 28, 4, 4, 30, 0, time.UTC) // when the request really went out
	before := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)       // StartTime before the request
	sameMinute := time.Date(2026, 11, 28, 4, 4, 0, 0, time.UTC)  // a reboot within the request's minute
	cases := []struct {
		name        string
		reason      string
		observed    *ecs.Instance
		found       bool
		sinceMarker time.Duration
		wantReason  string
		wantStatus  metav1.ConditionStatus
	}{
		{"not observed this pass: unchanged", ecsv1alpha1.ReasonRebootRequested,
			nil, false, time.Second, ecsv1alpha1.ReasonRebootRequested, metav1.ConditionUnknown},
		{"answer lost, then Stopping: ECS took it", ecsv1alpha1.ReasonRebootRequested,
			&ecs.Instance{Status: ecs.StatusStopping, StartTime: before}, true, time.Second,
			ecsv1alpha1.ReasonRebooting, metav1.ConditionUnknown},
		{"answer lost, Running with a later StartTime: done", ecsv1alpha1.ReasonRebootRequested,
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: sameMinute}, true, time.Second,
			ecsv1alpha1.ReasonRebooted, metav1.ConditionTrue},
		{"answer lost, Running, StartTime unchanged, soon after: wait", ecsv1alpha1.ReasonRebootRequested,
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: before}, true, 10 * time.Second,
			ecsv1alpha1.ReasonRebootRequested, metav1.ConditionUnknown},
		{"answer lost, no evidence long after: still waiting, never asked again on a guess", ecsv1alpha1.ReasonRebootRequested,
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: before}, true, 10 * time.Minute,
			ecsv1alpha1.ReasonRebootRequested, metav1.ConditionUnknown},
		{"answer lost, no evidence past the timeout: unconfirmed, for a person", ecsv1alpha1.ReasonRebootRequested,
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: before}, true, 16 * time.Minute,
			ecsv1alpha1.ReasonRebootUnconfirmed, metav1.ConditionFalse},
		{"accepted, Running again with StartTime unchanged (minute precision): done", ecsv1alpha1.ReasonRebooting,
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: before}, true, 20 * time.Second,
			ecsv1alpha1.ReasonRebooted, metav1.ConditionTrue},
		{"accepted but still Starting after the timeout: failed", ecsv1alpha1.ReasonRebooting,
			&ecs.Instance{Status: ecs.StatusStarting, StartTime: before}, true, 20 * time.Minute,
			ecsv1alpha1.ReasonRebootFailed, metav1.ConditionFalse},
		{"accepted and Stopping: wait", ecsv1alpha1.ReasonRebooting,
			&ecs.Instance{Status: ecs.StatusStopping, StartTime: before}, true, time.Minute,
			ecsv1alpha1.ReasonRebooting, metav1.ConditionUnknown},
		{"stopped by someone during the rollout: never started", ecsv1alpha1.ReasonRebooting,
			&ecs.Instance{Status: ecs.StatusStopped, StartTime: before}, true, time.Minute,
			ecsv1alpha1.ReasonInstanceStopped, metav1.ConditionFalse},
		{"released meanwhile", ecsv1alpha1.ReasonRebooting,
			&ecs.Instance{}, false, time.Minute, ecsv1alpha1.ReasonRebootFailed, metav1.ConditionFalse},
	}
	for _, skew := range []time.Duration{0, 5 * time.Minute, -5 * time.Minute} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("clock %+v/%s", skew, tc.name), func(t *testing.T) {
				marker := trueMarker.Add(skew) // the manager stamps markers with its own clock
				obj := unitObject("a", []string{"i-a"}, true)
				r := &Reconciler{kind: detachments, shared: &shared{}}
				status := &ecsv1alpha1.InstanceStatus{InstanceID: "i-a",
					Reboot: &ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: marker},
						StartTimeBefore: &metav1.Time{Time: before}},
					Conditions: []ecsv1alpha1.InstanceCondition{{
						Type: ecsv1alpha1.ConditionRebooted, Status: metav1.ConditionUnknown, Reason: tc.reason}}}
				i := &instance{kind: detachments, status: status, observed: tc.observed, found: tc.found}
				run := &run{r: r, kind: detachments, obj: detachments.view(obj, nil), now: marker.Add(tc.sinceMarker)}
				run.settleInFlight(i)
				got := ecsv1alpha1.FindInstanceCondition(i.status.Conditions, ecsv1alpha1.ConditionRebooted)
				if got.Reason != tc.wantReason || got.Status != tc.wantStatus {
					t.Fatalf("got %s/%s (%q), want %s/%s", got.Status, got.Reason, got.Message, tc.wantStatus, tc.wantReason)
				}
				if !i.status.Reboot.RequestedAt.Time.Equal(marker) {
					t.Errorf("settling must keep the request's time, got %v", i.status.Reboot.RequestedAt)
				}
				if i.status.Reboot.Attempts != 1 {
					t.Errorf("settling never changes the attempt count, got %d", i.status.Reboot.Attempts)
				}
			})
		}
	}
}

func TestChunks(t *testing.T) {
	instancesOf := func(n int) []*instance {
		out := make([]*instance, n)
		for i := range out {
			out[i] = &instance{status: &ecsv1alpha1.InstanceStatus{}}
		}
		return out
	}
	for n, want := range map[int][]int{0: nil, 1: {1}, 50: {50}, 51: {50, 1}, 1000: {50, 50, 50, 50, 50, 50, 50, 50, 50, 50,
		50, 50, 50, 50, 50, 50, 50, 50, 50, 50}} {
		var got []int
		for _, c := range chunks(instancesOf(n), ecs.MaxDetachIDs) {
			got = append(got, len(c))
		}
		if len(got) != len(want) {
			t.Fatalf("chunks of %d: %v, want %v", n, got, want)
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("chunks of %d: %v, want %v", n, got, want)
			}
		}
	}
}
