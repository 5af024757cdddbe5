package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestSettleInFlight is the decision table that keeps reboots exactly-once after a crash or a
// lost answer: what an instance in RebootRequested or Rebooting becomes, given what is observed.
func TestSettleInFlight(t *testing.T) {
	marker := time.Date(2026, 11, 28, 4, 4, 30, 0, time.UTC)
	oldStart := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sameMinute := time.Date(2026, 11, 28, 4, 4, 0, 0, time.UTC)
	const verifyAfter = 90 * time.Second
	cases := []struct {
		name        string
		reason      string
		message     string
		observed    *ecs.Instance
		found       bool
		sinceMarker time.Duration
		wantReason  string
		wantStatus  metav1.ConditionStatus
	}{
		{"not observed this pass: unchanged", ecsv1alpha1.ReasonRebootRequested, "Reboot requested (attempt 1)",
			nil, false, time.Second, ecsv1alpha1.ReasonRebootRequested, metav1.ConditionUnknown},
		{"stopping: ECS took it", ecsv1alpha1.ReasonRebootRequested, "Reboot requested (attempt 1)",
			&ecs.Instance{Status: ecs.StatusStopping, StartTime: oldStart}, true, time.Second,
			ecsv1alpha1.ReasonRebooting, metav1.ConditionUnknown},
		{"running, StartTime in the marker's minute: done", ecsv1alpha1.ReasonRebootRequested, "Reboot requested (attempt 1)",
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: sameMinute}, true, time.Second,
			ecsv1alpha1.ReasonRebooted, metav1.ConditionTrue},
		{"running, old StartTime, soon after the request: wait", ecsv1alpha1.ReasonRebootRequested, "Reboot requested (attempt 1)",
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: oldStart}, true, 10 * time.Second,
			ecsv1alpha1.ReasonRebootRequested, metav1.ConditionUnknown},
		{"running, old StartTime, long after: never reached ECS, ask once more", ecsv1alpha1.ReasonRebootRequested,
			"Reboot requested (attempt 1)", &ecs.Instance{Status: ecs.StatusRunning, StartTime: oldStart}, true, 2 * time.Minute,
			ecsv1alpha1.ReasonPending, metav1.ConditionUnknown},
		{"second request without effect: failed, never a third", ecsv1alpha1.ReasonRebootRequested,
			"Reboot requested (attempt 2)", &ecs.Instance{Status: ecs.StatusRunning, StartTime: oldStart}, true, 2 * time.Minute,
			ecsv1alpha1.ReasonRebootFailed, metav1.ConditionFalse},
		{"accepted but still starting after the timeout: failed", ecsv1alpha1.ReasonRebooting, "Reboot accepted",
			&ecs.Instance{Status: ecs.StatusStarting, StartTime: oldStart}, true, 20 * time.Minute,
			ecsv1alpha1.ReasonRebootFailed, metav1.ConditionFalse},
		{"accepted and running again", ecsv1alpha1.ReasonRebooting, "Reboot accepted",
			&ecs.Instance{Status: ecs.StatusRunning, StartTime: marker.Add(2 * time.Minute)}, true, 3 * time.Minute,
			ecsv1alpha1.ReasonRebooted, metav1.ConditionTrue},
		{"stopped by someone during the rollout: never started", ecsv1alpha1.ReasonRebooting, "Reboot accepted",
			&ecs.Instance{Status: ecs.StatusStopped, StartTime: oldStart}, true, time.Minute,
			ecsv1alpha1.ReasonInstanceStopped, metav1.ConditionFalse},
		{"released meanwhile", ecsv1alpha1.ReasonRebooting, "Reboot accepted",
			&ecs.Instance{}, false, time.Minute, ecsv1alpha1.ReasonRebootFailed, metav1.ConditionFalse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &ecsv1alpha1.KeyPairDetachment{Spec: ecsv1alpha1.KeyPairDetachmentSpec{
				Reboot: ecsv1alpha1.RebootSpec{Enabled: true, Timeout: &metav1.Duration{Duration: 15 * time.Minute}}}}
			r := &KeyPairDetachmentReconciler{RebootVerifyAfter: verifyAfter}
			status := &ecsv1alpha1.InstanceStatus{InstanceID: "i-a", Conditions: []metav1.Condition{{
				Type: ecsv1alpha1.ConditionRebooted, Status: metav1.ConditionUnknown, Reason: tc.reason,
				Message: tc.message, LastTransitionTime: metav1.NewTime(marker)}}}
			i := &instance{status: status, observed: tc.observed, found: tc.found}
			run := &run{r: r, obj: obj, now: marker.Add(tc.sinceMarker)}
			run.settleInFlight(i)
			got := meta.FindStatusCondition(i.status.Conditions, ecsv1alpha1.ConditionRebooted)
			if got.Reason != tc.wantReason || got.Status != tc.wantStatus {
				t.Fatalf("got %s/%s (%q), want %s/%s", got.Status, got.Reason, got.Message, tc.wantStatus, tc.wantReason)
			}
			if got.Reason == ecsv1alpha1.ReasonRebooting && !got.LastTransitionTime.Time.Equal(marker) {
				t.Errorf("Rebooting must keep the marker's time, got %v", got.LastTransitionTime)
			}
		})
	}
}

func TestAttemptOf(t *testing.T) {
	for message, want := range map[string]int{
		"Reboot requested (attempt 1)": 1,
		"Reboot request (attempt 2) never reached ECS: still Running since 2026-11-01T00:00:00Z": 2,
		"Waiting for a reboot slot": 0,
	} {
		if got := attemptOf(message); got != want {
			t.Errorf("attemptOf(%q) = %d, want %d", message, got, want)
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
