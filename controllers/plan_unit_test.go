package controllers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// objectReason is "Status/Reason" of the object's condition t, or "<none>".
func objectReason(obj *ecsv1alpha1.KeyPairDetachment, t string) string {
	if c := meta.FindStatusCondition(obj.Status.Conditions, t); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return "<none>"
}

// mixedWorld is a fleet of every kind a plan must tell apart: two Running carriers, a Stopped
// one, one without a key, one with another key, and a Windows instance.
func mixedWorld() (*world, func([]string) ([]ecs.Instance, error)) {
	w := newWorld([]string{"i-a", "i-b", "i-c", "i-d", "i-e", "i-w"})
	w.status["i-c"] = ecs.StatusStopped
	w.key["i-d"] = ""
	w.key["i-e"] = "K2"
	w.key["i-w"] = ""
	return w, func(ids []string) ([]ecs.Instance, error) {
		out, err := w.describe(ids)
		for n := range out {
			out[n].Windows = out[n].ID == "i-w"
		}
		return out, err
	}
}

// TestPlanChangesNothingAndApplyProceedsFromIt: a plan sends no DetachKeyPair and no reboot
// (the fake fails the test on either), says per instance what an Apply would do, and the Apply
// that follows detaches what the plan showed without describing it or checking it again.
func TestPlanChangesNothingAndApplyProceedsFromIt(t *testing.T) {
	w, describe := mixedWorld()
	var dryRuns [][]string
	cloud := &fakeECS{t: t, DescribeInstancesFn: describe,
		CloudAssistantFn: func(ids []string) (map[string]bool, error) {
			out := map[string]bool{}
			for _, id := range ids {
				out[id] = id != "i-b"
			}
			return out, nil
		},
		RebootDryRunFn: func(ids []string, _ bool) error { dryRuns = append(dryRuns, ids); return nil },
	}
	obj := unitObject("plan", []string{"i-a", "i-b", "i-c", "i-d", "i-e", "i-w"}, true)
	obj.Spec.Mode = ecsv1alpha1.ModePlan
	obj.Spec.Reboot.MaxConcurrent = 1
	clock := &unitClock{t: bootedAt.Add(time.Hour)}
	r := unitReconciler(t, clock.now, cloud, obj)
	r.ecsQPS = 10

	got, res, err := unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	expectMixedPlan(t, got, res, dryRuns)
	planned := map[string]int{}
	for k, v := range cloud.calls {
		planned[k] = v
	}

	// Apply: the carriers are detached from the plan's observation.
	var detached []string
	cloud.DetachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) {
		detached = append(detached, ids...)
		return w.detachAll(ids), nil
	}
	cloud.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) { return allSucceed(ids), nil }
	stored := latest(t, r.Client, obj)
	stored.Spec.Mode = ecsv1alpha1.ModeApply
	stored.Generation++
	if err := r.Update(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	got, _, err = unitPass(t, r, obj)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(detached, []string{"i-a", "i-b", "i-c"}) {
		t.Errorf("detached %v, want the plan's three", detached)
	}
	for _, action := range []string{"DescribeKeyPairs", "DescribeCloudAssistantStatus", "RebootDryRun"} {
		if cloud.calls[action] != planned[action] {
			t.Errorf("%s called again by the Apply (%d → %d): the plan's answer stands", action, planned[action], cloud.calls[action])
		}
	}
	if cloud.calls["RebootInstances"] != 1 {
		t.Errorf("RebootInstances %d times, want one reboot of the first wave", cloud.calls["RebootInstances"])
	}
	if got.Status.Plan == nil || got.Status.Plan.Changes != 3 {
		t.Errorf("the plan is kept to compare with the outcome: %+v", got.Status.Plan)
	}
}

// expectMixedPlan checks the plan of mixedWorld: per instance, status.plan and the object.
func expectMixedPlan(t *testing.T, got *ecsv1alpha1.KeyPairDetachment, res ctrl.Result, dryRuns [][]string) {
	t.Helper()
	want := map[string][2]string{
		"i-a": {"Unknown/WouldDetach", "Unknown/WouldReboot"},
		"i-b": {"Unknown/WouldDetach", "Unknown/WouldReboot"},
		"i-c": {"Unknown/WouldDetach", "Unknown/Pending"},
		"i-d": {"True/NotAttached", "False/NotRequired"},
		"i-e": {"False/KeyPairMismatch", "False/NotRequired"},
		"i-w": {"False/WindowsInstance", "False/NotRequired"},
	}
	for id, w := range want {
		if d, rb := reasonOf(t, got, id, ecsv1alpha1.ConditionDetached), reasonOf(t, got, id, ecsv1alpha1.ConditionRebooted); d != w[0] || rb != w[1] {
			t.Errorf("%s: Detached %s, Rebooted %s; want %s, %s", id, d, rb, w[0], w[1])
		}
	}
	if len(dryRuns) != 1 || !slices.Equal(dryRuns[0], []string{"i-a", "i-b"}) {
		t.Errorf("dry runs %v, want one for the Running carriers", dryRuns)
	}
	p := got.Status.Plan
	if p == nil {
		t.Fatal("no status.plan")
	}
	counts := [6]int32{p.Changes, p.ChangeCalls, p.Reboot, p.RebootWaves, p.Unchanged, p.Discrepancies}
	if counts != [6]int32{3, 1, 2, 2, 1, 2} {
		t.Errorf("plan %+v", *p)
	}
	if p.RebootDurationMeasured || p.RebootDuration.Duration != assumedRebootDuration || p.EstimatedDuration.Duration < 2*assumedRebootDuration {
		t.Errorf("estimate %+v: two waves of an assumed reboot at least", *p)
	}
	if !strings.Contains(p.Summary, "detach 3 (1 call), reboot 2 in 2 waves, 2 left alone") {
		t.Errorf("summary %q", p.Summary)
	}
	if objectReason(got, ecsv1alpha1.ConditionReady) != "False/Planned" || objectReason(got, ecsv1alpha1.ConditionStalled) != "False/Progressing" {
		t.Errorf("Ready %s, Stalled %s; a plan is not stalled", objectReason(got, ecsv1alpha1.ConditionReady), objectReason(got, ecsv1alpha1.ConditionStalled))
	}
	if objectReason(got, ecsv1alpha1.ConditionPreflightPassed) != "False/NoAlternateAccess" {
		t.Errorf("PreflightPassed %s: i-b has no Cloud Assistant", objectReason(got, ecsv1alpha1.ConditionPreflightPassed))
	}
	if res.RequeueAfter < time.Hour {
		t.Errorf("a plan waits for its resync, not a poll: requeue %s", res.RequeueAfter)
	}
}

// TestApplyObservesAfreshWhenThePlanIsStale: a plan older than the resync period, or of
// another spec, is not trusted.
func TestApplyObservesAfreshWhenThePlanIsStale(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*ecsv1alpha1.KeyPairDetachmentSpec, *unitClock)
	}{
		{"older than the resync period", func(_ *ecsv1alpha1.KeyPairDetachmentSpec, c *unitClock) { c.t = c.t.Add(2 * time.Hour) }},
		{"another spec", func(s *ecsv1alpha1.KeyPairDetachmentSpec, _ *unitClock) { s.Reboot.MaxConcurrent = 5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, describe := mixedWorld()
			cloud := &fakeECS{t: t, DescribeInstancesFn: describe}
			obj := unitObject("plan", []string{"i-a"}, false)
			obj.Spec.Mode = ecsv1alpha1.ModePlan
			clock := &unitClock{t: bootedAt.Add(time.Hour)}
			r := unitReconciler(t, clock.now, cloud, obj)
			if _, _, err := unitPass(t, r, obj); err != nil {
				t.Fatal(err)
			}
			described := cloud.calls["DescribeInstances"]
			cloud.DetachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }
			stored := latest(t, r.Client, obj)
			stored.Spec.Mode = ecsv1alpha1.ModeApply
			tc.change(&stored.Spec, clock)
			stored.Generation++
			if err := r.Update(t.Context(), stored); err != nil {
				t.Fatal(err)
			}
			got, _, err := unitPass(t, r, obj)
			if err != nil {
				t.Fatal(err)
			}
			if cloud.calls["DescribeInstances"] == described {
				t.Error("the Apply trusted a stale plan instead of describing the instances")
			}
			if reasonOf(t, got, "i-a", ecsv1alpha1.ConditionDetached) != "True/Detached" {
				t.Errorf("i-a %s", reasonOf(t, got, "i-a", ecsv1alpha1.ConditionDetached))
			}
		})
	}
}

// TestPlanMidRolloutNeverRebootsTwice: switching to Plan in the middle of a rollout, then back
// to Apply, starts no reboot while planning, lets the one in flight settle, and reboots each
// instance exactly once in all.
func TestPlanMidRolloutNeverRebootsTwice(t *testing.T) {
	ids := []string{"i-a", "i-b", "i-c"}
	w := newWorld(ids)
	clock := &unitClock{t: bootedAt.Add(time.Hour)}
	rebooted := map[string]int{}
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil },
		RebootInstancesFn: func(ids []string, _ bool) (ecs.BatchResult, error) {
			for _, id := range ids {
				rebooted[id]++
				w.start[id] = clock.t.Add(time.Minute).Truncate(time.Minute)
			}
			return allSucceed(ids), nil
		}}
	obj := unitObject("toggle", ids, true)
	obj.Spec.Reboot.MaxConcurrent = 1
	r := unitReconciler(t, clock.now, cloud, obj)
	setMode := func(mode ecsv1alpha1.Mode) {
		stored := latest(t, r.Client, obj)
		stored.Spec.Mode = mode
		stored.Generation++
		if err := r.Update(t.Context(), stored); err != nil {
			t.Fatal(err)
		}
	}
	pass := func() *ecsv1alpha1.KeyPairDetachment {
		clock.t = clock.t.Add(2 * time.Minute)
		got, _, err := unitPass(t, r, obj)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	pass() // detaches all three, requests i-a's reboot
	if cloud.calls["DetachKeyPair"] != 1 || cloud.calls["RebootInstances"] != 1 {
		t.Fatalf("first pass: %v", cloud.calls)
	}
	setMode(ecsv1alpha1.ModePlan)
	planned := pass()
	if cloud.calls["RebootInstances"] != 1 || cloud.calls["DetachKeyPair"] != 1 {
		t.Errorf("the plan changed something: %v", cloud.calls)
	}
	for id, want := range map[string]string{"i-a": "True/Rebooted", "i-b": "Unknown/WouldReboot", "i-c": "Unknown/WouldReboot"} {
		if got := reasonOf(t, planned, id, ecsv1alpha1.ConditionRebooted); got != want {
			t.Errorf("while planning, %s is %s, want %s (in flight settles, the rest is planned)", id, got, want)
		}
	}
	if p := planned.Status.Plan; p == nil || p.Changes != 0 || p.Reboot != 2 || p.RebootWaves != 2 {
		t.Errorf("plan %+v: nothing left to detach, two reboots in two waves", p)
	}

	setMode(ecsv1alpha1.ModeApply)
	var done *ecsv1alpha1.KeyPairDetachment
	for range 4 {
		done = pass()
	}
	for _, id := range ids {
		if rebooted[id] != 1 || reasonOf(t, done, id, ecsv1alpha1.ConditionRebooted) != "True/Rebooted" {
			t.Errorf("%s rebooted %d times, %s; want once", id, rebooted[id], reasonOf(t, done, id, ecsv1alpha1.ConditionRebooted))
		}
	}
	if objectReason(done, ecsv1alpha1.ConditionReady) != "True/Ready" {
		t.Errorf("Ready %s", objectReason(done, ecsv1alpha1.ConditionReady))
	}
}
