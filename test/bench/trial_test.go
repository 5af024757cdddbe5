package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// trial is one measured run with its own emulator, namespace and manager process: runs that
// are compared side by side share nothing but the control plane and the binary.
type trial struct {
	b       *testing.B
	cp      controlPlane
	emu     *ecsemu.Emulator
	mgr     *managerProc
	ns      string
	started time.Time
	stopEmu func()
	closed  bool
	// pollEvery replaces the default listing interval of await, for trials whose objects are
	// so large that listing them often would load the machine more than the manager does.
	pollEvery time.Duration
}

// managerArgs are added to the manager's flags.
func startTrial(b *testing.B, cp controlPlane, bin string, fleet ecsemu.Fleet, faults ecsemu.Faults, managerArgs ...string) *trial {
	b.Helper()
	emu, url, stopEmu := startEmulator(b, fleet, faults)
	t := &trial{b: b, cp: cp, emu: emu, stopEmu: stopEmu}
	b.Cleanup(t.close)
	t.ns = newNamespace(b, cp.client)
	t.mgr = startManager(b, bin, cp.kubeconfig, url, t.ns, filepath.Join(b.TempDir(), "manager.log"), managerArgs...)
	return t
}

// create starts the clock, as the user's kubectl apply would.
func (t *trial) create(objs []*ecsv1alpha1.KeyPairDetachment) {
	t.b.Helper()
	t.started = time.Now()
	for _, obj := range objs {
		obj.Namespace = t.ns
		if err := t.cp.client.Create(context.Background(), obj); err != nil {
			t.b.Fatal(err)
		}
	}
}

// close stops the manager and removes the trial's objects. Every manager watches every
// namespace, so objects left behind would be reconciled by the next trial's manager against
// its own emulator and counted in its calls. Finalizers are dropped because no manager is
// left to release them.
func (t *trial) close() {
	if t.closed {
		return
	}
	t.closed = true
	if t.mgr != nil {
		t.mgr.stop()
	}
	defer t.stopEmu()
	if t.ns == "" {
		return
	}
	ctx := context.Background()
	c := t.cp.client
	list := &ecsv1alpha1.KeyPairDetachmentList{}
	if err := c.List(ctx, list, client.InNamespace(t.ns)); err != nil {
		t.b.Errorf("Listing the objects to remove: %v", err)
		return
	}
	for i := range list.Items {
		obj := &list.Items[i]
		if len(obj.Finalizers) == 0 {
			continue
		}
		patch := client.MergeFrom(obj.DeepCopy())
		obj.Finalizers = nil
		if err := c.Patch(ctx, obj, patch); err != nil {
			t.b.Errorf("Dropping the finalizers of %s: %v", obj.Name, err)
		}
	}
	if err := c.DeleteAllOf(ctx, &ecsv1alpha1.KeyPairDetachment{}, client.InNamespace(t.ns)); err != nil {
		t.b.Errorf("Deleting the objects: %v", err)
		return
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		left := &ecsv1alpha1.KeyPairDetachmentList{}
		if err := c.List(ctx, left, client.InNamespace(t.ns)); err != nil {
			return false, err
		}
		return len(left.Items) == 0, nil
	})
	if err != nil {
		t.b.Errorf("The objects of namespace %s are still there: %v", t.ns, err)
	}
}

// detachment is a KeyPairDetachment of the bench key pair, region and namespace-to-be.
func detachment(name string, ids []string, reboot ecsv1alpha1.RebootSpec) *ecsv1alpha1.KeyPairDetachment {
	return &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{RegionID: region, KeyPairName: keyPair, InstanceIDs: ids,
			Reboot: reboot},
	}
}

// rollout is a reboot phase that halts at the first failure, so that any failure shows.
func rollout(maxConcurrent int32) ecsv1alpha1.RebootSpec {
	return ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: maxConcurrent, MaxFailures: 0,
		Timeout: &metav1.Duration{Duration: 15 * time.Minute}}
}
