package controllers

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// world is what a unit table's fake ECS shows: per instance its key pair, status and
// StartTime. Table cases change it from inside their call funcs to play what ECS (or a
// person) did.
type world struct {
	key    map[string]string
	status map[string]string
	start  map[string]time.Time
}

// newWorld has every id Running with key K1 and a StartTime of bootedAt.
func newWorld(ids []string) *world {
	w := &world{key: map[string]string{}, status: map[string]string{}, start: map[string]time.Time{}}
	for _, id := range ids {
		w.key[id], w.status[id], w.start[id] = "K1", ecs.StatusRunning, bootedAt
	}
	return w
}

// bootedAt is when the unit fleet last started, by ECS's clock.
var bootedAt = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func (w *world) describe(ids []string) ([]ecs.Instance, error) {
	var out []ecs.Instance
	for _, id := range ids {
		if s, ok := w.status[id]; ok {
			out = append(out, ecs.Instance{ID: id, Status: s, KeyPairName: w.key[id], StartTime: w.start[id]})
		}
	}
	return out, nil
}

// detachAll is ECS carrying out a detach of every id.
func (w *world) detachAll(ids []string) ecs.BatchResult {
	for _, id := range ids {
		w.key[id] = ""
	}
	return allSucceed(ids)
}

// errNeverSent is a failed dial: nothing left the operator.
var errNeverSent = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// unitClock is a settable manager clock.
type unitClock struct{ t time.Time }

func (c *unitClock) now() time.Time { return c.t }

// unitPass runs one reconcile of obj through the reconciler, as the workqueue would, and
// returns what the fake API server then holds.
func unitPass(t *testing.T, r *Reconciler, obj *ecsv1alpha1.KeyPairDetachment) (
	*ecsv1alpha1.KeyPairDetachment, ctrl.Result, error) {
	t.Helper()
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	got := latest(t, r.Client, obj)
	expectReasonsFromTheTable(t, got)
	return got, res, err
}

// expectReasonsFromTheTable holds every per-instance condition to ecsv1alpha1.InstanceReasons:
// a known reason with the status the table gives it.
func expectReasonsFromTheTable(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment) {
	t.Helper()
	for _, s := range obj.Status.Instances {
		for _, c := range s.Conditions {
			info, ok := ecsv1alpha1.InstanceReasons[c.Type][c.Reason]
			if !ok || info.Status != c.Status {
				t.Errorf("%s: %s=%s/%s is not in the reason table with that status", s.InstanceID, c.Type, c.Status, c.Reason)
			}
		}
	}
}

// instanceOf returns the stored status of instance id.
func instanceOf(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, id string) *ecsv1alpha1.InstanceStatus {
	t.Helper()
	for n := range obj.Status.Instances {
		if obj.Status.Instances[n].InstanceID == id {
			return &obj.Status.Instances[n]
		}
	}
	t.Fatalf("no status for %s in %+v", id, obj.Status.Instances)
	return nil
}

// reasonOf is "Status/Reason" of condition t of instance id, or "<none>".
func reasonOf(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, id, condition string) string {
	t.Helper()
	for _, c := range instanceOf(t, obj, id).Conditions {
		if c.Type == condition {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return "<none>"
}

// messageOf is the message of condition t of instance id.
func messageOf(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, id, condition string) string {
	t.Helper()
	for _, c := range instanceOf(t, obj, id).Conditions {
		if c.Type == condition {
			return c.Message
		}
	}
	return ""
}

// settled is an instance status as a finished pass leaves it: detached with proof (nil: a
// person did), and Rebooted with reason (empty: no condition) and record.
func settled(id string, proof *ecsv1alpha1.DetachRecord, rebooted string, rec *ecsv1alpha1.RebootRecord) ecsv1alpha1.InstanceStatus {
	detached := ecsv1alpha1.ReasonNotAttached
	if proof != nil {
		detached = ecsv1alpha1.ReasonDetached
	}
	s := ecsv1alpha1.InstanceStatus{InstanceID: id, Detach: proof, Reboot: rec, Conditions: []ecsv1alpha1.InstanceCondition{{
		Type: ecsv1alpha1.ConditionDetached, Status: metav1.ConditionTrue, Reason: detached, Message: "seeded"}}}
	if rebooted != "" {
		status := metav1.ConditionUnknown
		switch rebooted {
		case ecsv1alpha1.ReasonRebooted, ecsv1alpha1.ReasonRebootedByOther:
			status = metav1.ConditionTrue
		case ecsv1alpha1.ReasonRebootFailed, ecsv1alpha1.ReasonRebootUnconfirmed, ecsv1alpha1.ReasonRolloutHalted,
			ecsv1alpha1.ReasonNotRequired, ecsv1alpha1.ReasonInstanceStopped:
			status = metav1.ConditionFalse
		}
		s.Conditions = append(s.Conditions, ecsv1alpha1.InstanceCondition{Type: ecsv1alpha1.ConditionRebooted, Status: status,
			Reason: rebooted, Message: "seeded"})
	}
	return s
}

// answerAt is a detach proven by ECS's answer to a call sent at t.
func answerAt(t time.Time) *ecsv1alpha1.DetachRecord {
	return &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofAnswer, At: metav1.NewTime(t)}
}

// recordedEvents drains the fake recorder.
func recordedEvents(r *Reconciler) []string {
	var out []string
	ch := r.Recorder.(*events.FakeRecorder).Events
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

func requestFor(obj *ecsv1alpha1.KeyPairDetachment) ctrl.Request {
	return ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
}

// detachedAwaitingReboot is one instance, i-a, that this object detached a minute ago and
// must now reboot; the fake ECS describes it, and the case sets RebootInstances.
func detachedAwaitingReboot(t *testing.T) (*world, *ecsv1alpha1.KeyPairDetachment, *unitClock, *fakeECS) {
	detachedAt := bootedAt.Add(time.Hour)
	w := newWorld([]string{"i-a"})
	w.key["i-a"] = ""
	obj := unitObject("a", []string{"i-a"}, true)
	obj.Status.Instances = []ecsv1alpha1.InstanceStatus{settled("i-a", answerAt(detachedAt), "", nil)}
	return w, obj, &unitClock{t: detachedAt.Add(time.Minute)}, &fakeECS{t: t, DescribeInstancesFn: w.describe}
}
