package controllers

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// instance is one spec instance during a reconcile: its persisted status plus what this
// reconcile observed of it in ECS (not persisted).
type instance struct {
	kind     *kind
	status   *ecsv1alpha1.InstanceStatus
	observed *ecs.Instance // nil when not observed in this reconcile
	found    bool          // observed and present in ECS
	// duty is who reboots it, decided this reconcile; nil when in flight, settled or undecided.
	duty *rebootDuty
	// want is what the observation of this reconcile asks of it (kinds.go); meaningful only
	// when observed.
	want want
}

func (i *instance) id() string { return i.status.InstanceID }

func (i *instance) condition(conditionType string) *ecsv1alpha1.InstanceCondition {
	return ecsv1alpha1.FindInstanceCondition(i.status.Conditions, conditionType)
}

func (i *instance) reason(conditionType string) string {
	if c := i.condition(conditionType); c != nil {
		return c.Reason
	}
	return ""
}

// changeReason is the reason of the kind's change condition (Detached or Attached).
func (i *instance) changeReason() string { return i.reason(i.kind.condition) }

// set records a condition. Settling a change ends its Detaching (Attaching) marker, and with
// it the marker's time.
func (i *instance) set(conditionType string, status metav1.ConditionStatus, reason, message string) {
	ecsv1alpha1.SetInstanceCondition(&i.status.Conditions, ecsv1alpha1.InstanceCondition{
		Type: conditionType, Status: status, Reason: reason, Message: message,
	})
	if conditionType == i.kind.condition && reason != i.kind.changing {
		i.status.DetachingSince = nil
	}
}

// setChange records the kind's change condition.
func (i *instance) setChange(status metav1.ConditionStatus, reason, message string) {
	i.set(i.kind.condition, status, reason, message)
}

func removeCondition(i *instance, conditionType string) {
	ecsv1alpha1.RemoveInstanceCondition(&i.status.Conditions, conditionType)
}

// markDetaching records the write-ahead Detaching marker, stamped now: after a restart that
// lost the answer, the stamp dates the detach this object claims.
func (i *instance) markDetaching(message string, now time.Time) {
	i.setChange(metav1.ConditionUnknown, i.kind.changing, message)
	i.status.DetachingSince = &metav1.Time{Time: now}
}

// instanceTable holds the spec's instances in spec order.
type instanceTable struct {
	ordered []*instance
	byID    map[string]*instance
}

// newInstanceTable aligns the status with the spec: entries of removed IDs are dropped, new IDs
// start Pending, and every entry keeps what earlier reconciles recorded.
func newInstanceTable(obj *subject) *instanceTable {
	previous := make(map[string]int, len(obj.Status.Instances))
	for n, s := range obj.Status.Instances {
		previous[s.InstanceID] = n
	}
	t := &instanceTable{byID: make(map[string]*instance, len(obj.Spec.InstanceIDs))}
	for _, id := range obj.Spec.InstanceIDs {
		if _, dup := t.byID[id]; dup {
			continue
		}
		s := ecsv1alpha1.InstanceStatus{InstanceID: id}
		if n, ok := previous[id]; ok {
			s = obj.Status.Instances[n]
		}
		s.Conditions = append([]ecsv1alpha1.InstanceCondition(nil), s.Conditions...)
		inst := &instance{kind: obj.kind, status: &s}
		if inst.condition(obj.kind.condition) == nil {
			inst.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "")
		}
		if !obj.Spec.Reboot.Enabled {
			// Rebooted conditions that say something happened survive reboot.enabled: false;
			// only those that promised a future reboot go.
			switch inst.reason(ecsv1alpha1.ConditionRebooted) {
			case ecsv1alpha1.ReasonPending, ecsv1alpha1.ReasonNotRequired, ecsv1alpha1.ReasonRolloutHalted:
				ecsv1alpha1.RemoveInstanceCondition(&s.Conditions, ecsv1alpha1.ConditionRebooted)
			}
		} else if inst.condition(ecsv1alpha1.ConditionRebooted) == nil {
			inst.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
				"")
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
