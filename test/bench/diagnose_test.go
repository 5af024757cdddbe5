package bench

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// diagnose is what a reader needs when a run did not become Ready: each object's Ready
// condition, the instances that hold a slow object back, and the end of the manager log.
func (t *trial) diagnose(objs []ecsv1alpha1.KeyPairDetachment) string {
	var s strings.Builder
	for i := range objs {
		obj := &objs[i]
		sum := obj.Status.Summary
		fmt.Fprintf(&s, "  %s (generation %d, observed %d; total %d detached %d rebooted %d failed %d pending %d): ",
			obj.Name, obj.Generation, obj.Status.ObservedGeneration, sum.Total, sum.Detached, sum.Rebooted, sum.Failed, sum.Pending)
		if c := meta.FindStatusCondition(obj.Status.Conditions, ecsv1alpha1.ConditionReady); c != nil {
			fmt.Fprintf(&s, "Ready=%s %s: %s\n", c.Status, c.Reason, c.Message)
		} else {
			s.WriteString("no Ready condition\n")
		}
		for _, line := range holdingBack(obj, 5) {
			fmt.Fprintf(&s, "    %s\n", line)
		}
	}
	fmt.Fprintf(&s, "Last 50 lines of the manager log:\n%s", tail(t.mgr.logPath, 50))
	return s.String()
}

// holdingBack lists up to n instances that failed or still have a change in flight: a
// rollout that waits, or halts, waits for these.
func holdingBack(obj *ecsv1alpha1.KeyPairDetachment, n int) []string {
	var out []string
	for _, in := range obj.Status.Instances {
		for _, c := range in.Conditions {
			failed := ecsv1alpha1.InstanceReasonInfo(c.Type, c.Reason).Outcome == ecsv1alpha1.OutcomeFailed
			inFlight := c.Reason == ecsv1alpha1.ReasonRebootRequested || c.Reason == ecsv1alpha1.ReasonRebooting ||
				c.Reason == ecsv1alpha1.ReasonDetaching
			if (failed || inFlight) && len(out) < n {
				out = append(out, fmt.Sprintf("%s %s=%s %s: %s", in.InstanceID, c.Type, c.Status, c.Reason, c.Message))
			}
		}
	}
	return out
}
