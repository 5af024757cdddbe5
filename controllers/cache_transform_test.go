package controllers

import (
	"reflect"
	"testing"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// TestCacheTransformKeepsWhatTheControllerReads: the transform drops managedFields and
// kubectl's last-applied copy, leaves every value the controller reads equal, and makes
// repeated strings share one copy.
func TestCacheTransformKeepsWhatTheControllerReads(t *testing.T) {
	decoded := func() *ecsv1alpha1.KeyPairDetachment {
		obj := unitObject("big", []string{"i-a", "i-b"}, true)
		obj.Annotations = map[string]string{lastAppliedAnnotation: "{...}", "team": "platform"}
		obj.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		for _, id := range []string{"i-a", "i-b"} {
			// Fresh copies of each string, as a JSON decoder makes them.
			obj.Status.Instances = append(obj.Status.Instances, ecsv1alpha1.InstanceStatus{
				InstanceID: string([]byte(id)), LastRequestID: string([]byte("REQ-1")),
				Detach: &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProof([]byte("Answer"))},
				Conditions: []ecsv1alpha1.InstanceCondition{{
					Type: string([]byte("Rebooted")), Status: metav1.ConditionStatus([]byte("False")),
					Reason: string([]byte("InstanceStopped")),
				}},
			})
		}
		return obj
	}
	want := decoded()
	out, err := CacheTransform()(decoded())
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*ecsv1alpha1.KeyPairDetachment)
	if got.ManagedFields != nil {
		t.Error("managedFields kept")
	}
	if _, ok := got.Annotations[lastAppliedAnnotation]; ok || got.Annotations["team"] != "platform" {
		t.Errorf("annotations %v: want only kubectl's copy dropped", got.Annotations)
	}
	want.ManagedFields, want.Annotations = nil, map[string]string{"team": "platform"}
	if !equalObjects(want, got) {
		t.Fatalf("values changed:\n got %+v\nwant %+v", got.Status, want.Status)
	}
	a, b := got.Status.Instances[0], got.Status.Instances[1]
	for name, pair := range map[string][2]string{
		"reason":  {a.Conditions[0].Reason, b.Conditions[0].Reason},
		"type":    {a.Conditions[0].Type, b.Conditions[0].Type},
		"status":  {string(a.Conditions[0].Status), string(b.Conditions[0].Status)},
		"request": {a.LastRequestID, b.LastRequestID},
		"proof":   {string(a.Detach.Proof), string(b.Detach.Proof)},
	} {
		if unsafe.StringData(pair[0]) != unsafe.StringData(pair[1]) {
			t.Errorf("%s: the two entries hold separate copies", name)
		}
	}
	if unsafe.StringData(a.InstanceID) != unsafe.StringData(got.Spec.InstanceIDs[0]) {
		t.Error("the status's instance ID is not the spec's copy")
	}
}

func equalObjects(a, b *ecsv1alpha1.KeyPairDetachment) bool {
	return a.Name == b.Name && len(a.Annotations) == len(b.Annotations) &&
		reflect.DeepEqual(a.Spec, b.Spec) && reflect.DeepEqual(a.Status, b.Status)
}
