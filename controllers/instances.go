package controllers

import (
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// instance is one spec instance during a reconcile: its persisted status plus what this
// reconcile observed of it in ECS (not persisted).
type instance struct {
	status   *ecsv1alpha1.InstanceStatus
	observed *ecs.Instance // nil when not observed in this reconcile
	found    bool          // observed and present in ECS
	// duty is who reboots it, decided this reconcile; nil when in flight, settled or undecided.
	duty *rebootDuty
}

func (i *instance) id() string { return i.status.InstanceID }

func (i *instance) condition(conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(i.status.Conditions, conditionType)
}

func (i *instance) reason(conditionType string) string {
	if c := i.condition(conditionType); c != nil {
		return c.Reason
	}
	return ""
}

// set records a condition; lastTransitionTime moves only when the status changes, as
// meta.SetStatusCondition does, so the time of a marker survives repeated writes.
func (i *instance) set(conditionType string, status metav1.ConditionStatus, reason, message string, generation int64) {
	meta.SetStatusCondition(&i.status.Conditions, metav1.Condition{
		Type: conditionType, Status: status, Reason: reason, Message: message, ObservedGeneration: generation,
	})
}

func removeCondition(i *instance, conditionType string) {
	meta.RemoveStatusCondition(&i.status.Conditions, conditionType)
}

// setMarker records a condition whose lastTransitionTime must be now even when only the
// reason changes: markers are timestamps that the reboot phase reasons about after a restart.
func (i *instance) setMarker(conditionType, reason, message string, generation int64, now time.Time) {
	meta.RemoveStatusCondition(&i.status.Conditions, conditionType)
	meta.SetStatusCondition(&i.status.Conditions, metav1.Condition{
		Type: conditionType, Status: metav1.ConditionUnknown, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}

// instanceTable holds the spec's instances in spec order.
type instanceTable struct {
	ordered []*instance
	byID    map[string]*instance
}

// newInstanceTable aligns the status with the spec: entries of removed IDs are dropped, new IDs
// start Pending, and every entry keeps what earlier reconciles recorded.
func newInstanceTable(obj *ecsv1alpha1.KeyPairDetachment) *instanceTable {
	previous := make(map[string]ecsv1alpha1.InstanceStatus, len(obj.Status.Instances))
	for _, s := range obj.Status.Instances {
		previous[s.InstanceID] = s
	}
	t := &instanceTable{byID: make(map[string]*instance, len(obj.Spec.InstanceIDs))}
	for _, id := range obj.Spec.InstanceIDs {
		if _, dup := t.byID[id]; dup {
			continue
		}
		s, ok := previous[id]
		if !ok {
			s = ecsv1alpha1.InstanceStatus{InstanceID: id}
		}
		s.Conditions = append([]metav1.Condition(nil), s.Conditions...)
		inst := &instance{status: &s}
		if inst.condition(ecsv1alpha1.ConditionDetached) == nil {
			inst.set(ecsv1alpha1.ConditionDetached, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				"Not observed yet", obj.Generation)
		}
		if !obj.Spec.Reboot.Enabled {
			// Rebooted conditions that say something happened survive reboot.enabled: false;
			// only those that promised a future reboot go.
			switch inst.reason(ecsv1alpha1.ConditionRebooted) {
			case ecsv1alpha1.ReasonPending, ecsv1alpha1.ReasonNotRequired, ecsv1alpha1.ReasonRolloutHalted:
				meta.RemoveStatusCondition(&s.Conditions, ecsv1alpha1.ConditionRebooted)
			}
		} else if inst.condition(ecsv1alpha1.ConditionRebooted) == nil {
			inst.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				"Waiting for the detach", obj.Generation)
		}
		t.ordered = append(t.ordered, inst)
		t.byID[id] = inst
	}
	return t
}

// statuses returns the table as the status list, sorted by ID so that writes are stable.
func (t *instanceTable) statuses() []ecsv1alpha1.InstanceStatus {
	out := make([]ecsv1alpha1.InstanceStatus, 0, len(t.ordered))
	for _, i := range t.ordered {
		out = append(out, *i.status)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].InstanceID < out[b].InstanceID })
	return out
}

// where returns the instances for which keep is true, in spec order.
func (t *instanceTable) where(keep func(*instance) bool) []*instance {
	var out []*instance
	for _, i := range t.ordered {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out
}

func ids(instances []*instance) []string {
	out := make([]string, len(instances))
	for n, i := range instances {
		out[n] = i.id()
	}
	return out
}

// chunks splits instances into batches of at most size.
func chunks(instances []*instance, size int) [][]*instance {
	var out [][]*instance
	for len(instances) > size {
		out = append(out, instances[:size])
		instances = instances[size:]
	}
	if len(instances) > 0 {
		out = append(out, instances)
	}
	return out
}
