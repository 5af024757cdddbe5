package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestInstanceReasonsAgree: an outcome and a condition status say the same thing, so the
// summary (outcomes) and kubectl users (statuses) never disagree.
func TestInstanceReasonsAgree(t *testing.T) {
	want := map[Outcome]metav1.ConditionStatus{
		OutcomeDone: metav1.ConditionTrue, OutcomeWaiting: metav1.ConditionUnknown, OutcomeFailed: metav1.ConditionFalse,
		OutcomeHeld: metav1.ConditionFalse, OutcomeDeferred: metav1.ConditionFalse, OutcomeNotOwed: metav1.ConditionFalse,
	}
	for condition, reasons := range InstanceReasons {
		for reason, info := range reasons {
			if info.Status != want[info.Outcome] {
				t.Errorf("%s/%s: status %s with outcome %d", condition, reason, info.Status, info.Outcome)
			}
			if info.Meaning == "" {
				t.Errorf("%s/%s has no meaning for users", condition, reason)
			}
		}
	}
	if got := InstanceReasonInfo(ConditionRebooted, "FromANewerVersion"); got.Outcome != OutcomeWaiting {
		t.Errorf("an unknown reason counts as %d, want waiting", got.Outcome)
	}
}
