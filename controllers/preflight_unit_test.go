package controllers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestPreflightFailurePoints is the table of what each pre-flight answer does to an Apply of
// two Running carriers, i-a and i-b: what is detached, and what the object says.
func TestPreflightFailurePoints(t *testing.T) {
	allRunning := func(ids []string) (map[string]bool, error) {
		out := map[string]bool{}
		for _, id := range ids {
			out[id] = true
		}
		return out, nil
	}
	notOn := func(without string) func([]string) (map[string]bool, error) {
		return func(ids []string) (map[string]bool, error) {
			out, _ := allRunning(ids)
			out[without] = false
			return out, nil
		}
	}
	apiError := func(code string, status int) error { return &ecs.APIError{Action: "X", Code: code, StatusCode: status} }
	dryRun := func(err error) func([]string, bool) error { return func([]string, bool) error { return err } }

	cases := []struct {
		name          string
		reboot        bool
		requireAccess bool
		access        func([]string) (map[string]bool, error)
		dryRun        func([]string, bool) error
		wantDetached  []string
		wantPreflight string
		wantReady     string
		wantStalled   string
		wantIB        string // Detached of i-b
		wantMessage   string // in PreflightPassed's message
	}{
		{name: "everything passes", reboot: true, access: allRunning, dryRun: dryRun(nil),
			wantDetached: []string{"i-a", "i-b"}, wantPreflight: "True/Passed", wantReady: "False/InProgress", wantStalled: "False/Progressing",
			wantIB: "True/Detached", wantMessage: "dry run passed"},
		{name: "no permission to reboot: nothing is detached", reboot: true, access: allRunning,
			dryRun:        dryRun(apiError("Forbidden.RAM", 403)),
			wantPreflight: "False/RebootNotPermitted", wantReady: "False/PreflightFailed", wantStalled: "True/PreflightFailed",
			wantIB: "Unknown/Pending", wantMessage: "Forbidden.RAM"},
		{name: "no balance: nothing is detached", reboot: true, access: allRunning,
			dryRun:        dryRun(apiError("InsufficientBalance", 403)),
			wantPreflight: "False/RebootRefused", wantReady: "False/PreflightFailed", wantStalled: "True/PreflightFailed",
			wantIB: "Unknown/Pending", wantMessage: "InsufficientBalance"},
		{name: "an instance's state: reported, the detach goes on", reboot: true, access: allRunning,
			dryRun:       dryRun(apiError("IncorrectInstanceStatus", 403)),
			wantDetached: []string{"i-a", "i-b"}, wantPreflight: "False/RebootRefused", wantReady: "False/InProgress", wantStalled: "False/Progressing",
			wantIB: "True/Detached", wantMessage: "IncorrectInstanceStatus"},
		{name: "dry run throttled: nothing changed, asked again", reboot: true, access: allRunning,
			dryRun:        dryRun(errThrottled),
			wantPreflight: "<none>", wantReady: "False/InProgress", wantStalled: "False/Progressing", wantIB: "Unknown/Pending"},
		{name: "detach only: no dry run", access: allRunning,
			wantDetached: []string{"i-a", "i-b"}, wantPreflight: "True/Passed", wantReady: "True/Ready", wantStalled: "False/Progressing",
			wantIB: "True/Detached"},
		{name: "no Cloud Assistant, not required: detached and reported", access: notOn("i-b"),
			wantDetached: []string{"i-a", "i-b"}, wantPreflight: "False/NoAlternateAccess", wantReady: "True/Ready", wantStalled: "False/Progressing",
			wantIB: "True/Detached", wantMessage: "set spec.requireAlternateAccess"},
		{name: "no Cloud Assistant, required: that key stays on", requireAccess: true, reboot: true, access: notOn("i-b"),
			dryRun: func(ids []string, _ bool) error {
				if slices.Contains(ids, "i-b") {
					t.Errorf("dry run of i-b, which keeps its key: %v", ids)
				}
				return nil
			},
			wantDetached: []string{"i-a"}, wantPreflight: "False/NoAlternateAccess", wantReady: "False/InProgress", wantStalled: "False/Progressing",
			wantIB: "False/NoAlternateAccess", wantMessage: "they keep their key"},
		{name: "Cloud Assistant unknown in the region, required: every key stays on", requireAccess: true,
			access:        func([]string) (map[string]bool, error) { return nil, apiError("RegionId.ApiNotSupported", 400) },
			wantPreflight: "False/NoAlternateAccess", wantReady: "False/PartiallyFailed", wantStalled: "True/PartiallyFailed",
			wantIB: "False/NoAlternateAccess", wantMessage: "RegionId.ApiNotSupported"},
		{name: "Cloud Assistant check throttled: nothing changed", requireAccess: true,
			access:        func([]string) (map[string]bool, error) { return nil, errThrottled },
			wantPreflight: "<none>", wantReady: "False/InProgress", wantStalled: "False/Progressing", wantIB: "Unknown/Pending"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld([]string{"i-a", "i-b"})
			var detached []string
			cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe, CloudAssistantFn: tc.access, RebootDryRunFn: tc.dryRun,
				DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) {
					detached = append(detached, ids...)
					return w.detachAll(ids), nil
				},
				RebootInstancesFn: func(ids []string, _ bool) (ecs.BatchResult, error) { return allSucceed(ids), nil },
			}
			obj := unitObject("pf", []string{"i-a", "i-b"}, tc.reboot)
			obj.Spec.RequireAlternateAccess = tc.requireAccess
			r := unitReconciler(t, (&unitClock{t: bootedAt.Add(time.Hour)}).now, cloud, obj)
			got, _, _ := unitPass(t, r, obj)
			if !slices.Equal(detached, tc.wantDetached) {
				t.Errorf("detached %v, want %v", detached, tc.wantDetached)
			}
			for name, pair := range map[string][2]string{
				"PreflightPassed": {objectReason(got, ecsv1alpha1.ConditionPreflightPassed), tc.wantPreflight},
				"Ready":           {objectReason(got, ecsv1alpha1.ConditionReady), tc.wantReady},
				"Stalled":         {objectReason(got, ecsv1alpha1.ConditionStalled), tc.wantStalled},
				"i-b Detached":    {reasonOf(t, got, "i-b", ecsv1alpha1.ConditionDetached), tc.wantIB},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s %s, want %s", name, pair[0], pair[1])
				}
			}
			if tc.wantReady == "False/PreflightFailed" {
				warned := slices.ContainsFunc(recordedEvents(r), func(e string) bool { return strings.HasPrefix(e, "Warning PreflightFailed") })
				if !warned {
					t.Error("a refused pre-flight is an event a human must see")
				}
			}
			if c := meta.FindStatusCondition(got.Status.Conditions, ecsv1alpha1.ConditionPreflightPassed); tc.wantMessage != "" && (c == nil || !strings.Contains(c.Message, tc.wantMessage)) {
				t.Errorf("PreflightPassed %+v does not say %q", c, tc.wantMessage)
			}
		})
	}
}
