package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// pollEvery is how often the objects are listed while waiting: fine enough to see the
// reboots a wave has in flight, whose lifecycle is 3s.
const pollEvery = 100 * time.Millisecond

// observer sees every list of the trial's objects taken while waiting.
type observer func(*ecsv1alpha1.KeyPairDetachmentList)

// outcome is what a trial measured when its objects settled.
type outcome struct {
	converge   time.Duration
	stats      ecsemu.Stats
	peakRSSKiB int
	objects    []ecsv1alpha1.KeyPairDetachment
	// stalled names the objects that settled Stalled=True instead of Ready=True.
	stalled []string
	// timedOut: some object had not settled when the wait gave up; the figures are those of
	// that moment.
	timedOut bool
	logPath  string
}

// failed is the sum of status.summary.failed over the objects.
func (o outcome) failed() int {
	n := 0
	for i := range o.objects {
		n += int(o.objects[i].Status.Summary.Failed)
	}
	return n
}

// await waits until want objects are settled: Ready=True, or Stalled=True, which no amount of
// waiting changes, for the current generation. Stalled objects and a timeout are reported with
// b.Errorf and the figures of that moment are still returned, so that a benchmark prints what
// it measured before it stops (see stopUnlessSettled).
func (t *trial) await(want int, timeout time.Duration, observers ...observer) outcome {
	b := t.b
	b.Helper()
	var last ecsv1alpha1.KeyPairDetachmentList
	every := pollEvery
	if t.pollEvery > 0 {
		every = t.pollEvery
	}
	err := wait.PollUntilContextTimeout(context.Background(), every, timeout, true,
		func(ctx context.Context) (bool, error) {
			if t.mgr.exited() {
				return false, fmt.Errorf("the manager exited on its own: %s", t.mgr.cmd.ProcessState)
			}
			list := &ecsv1alpha1.KeyPairDetachmentList{}
			if err := t.cp.client.List(ctx, list, client.InNamespace(t.ns)); err != nil {
				return false, err
			}
			last = *list
			for _, observe := range observers {
				observe(list)
			}
			return len(list.Items) == want && allSettled(list.Items), nil
		})
	elapsed := time.Since(t.started)
	out := outcome{converge: elapsed, stats: t.emu.Stats(), peakRSSKiB: t.mgr.peakKiB(b), objects: last.Items,
		logPath: t.mgr.logPath}
	if err != nil {
		b.Errorf("Objects not Ready after %s: %v\n%s", elapsed.Round(time.Second), err, t.diagnose(last.Items))
		out.timedOut = true
		return out
	}
	for i := range last.Items {
		if !isTrue(&last.Items[i], ecsv1alpha1.ConditionReady) {
			out.stalled = append(out.stalled, last.Items[i].Name)
		}
	}
	if len(out.stalled) > 0 {
		b.Errorf("%d of %d objects stalled instead of becoming Ready after %s\n%s",
			len(out.stalled), want, elapsed.Round(time.Second), t.diagnose(last.Items))
	}
	return out
}

// stopUnlessSettled ends the benchmark once a run that timed out has been reported.
func stopUnlessSettled(b *testing.B, runs ...outcome) {
	b.Helper()
	for _, o := range runs {
		if o.timedOut {
			b.Fatalf("Stopping: a run did not settle within its wait; its objects and manager log are above")
		}
	}
}

func allSettled(objs []ecsv1alpha1.KeyPairDetachment) bool {
	for i := range objs {
		if !isTrue(&objs[i], ecsv1alpha1.ConditionReady) && !isTrue(&objs[i], ecsv1alpha1.ConditionStalled) {
			return false
		}
	}
	return true
}

// isTrue reports whether the condition is True for the object's current generation.
func isTrue(obj *ecsv1alpha1.KeyPairDetachment, condition string) bool {
	c := meta.FindStatusCondition(obj.Status.Conditions, condition)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.Generation &&
		obj.Status.ObservedGeneration == obj.Generation
}
