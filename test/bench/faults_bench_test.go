package bench

import (
	"fmt"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// faultsInstances is the size of the detach measured with and without faults: one object at
// the API's 1,000-instance limit, so every call the faults cost is this object's.
const faultsInstances = 1000

// BenchmarkDetachUnderFaults detaches the key pair from 1,000 Running instances of one object,
// fault-free and then with throttling and 5xx answers injected into every ECS call, and prints
// the two side by side.
func BenchmarkDetachUnderFaults(b *testing.B) {
	cp := startControlPlane(b)
	manager := buildManager(b)
	for range b.N {
		free := detachUnderFaults(b, cp, manager, ecsemu.Faults{})
		stopUnlessSettled(b, free)
		faulted := detachUnderFaults(b, cp, manager, injectedFaults)
		c := compare(b, fmt.Sprintf("DetachUnderFaults: 1 object × %d Running Linux instances, detach only; faulted: %s",
			faultsInstances, faultsLabel(injectedFaults)), free, faulted)
		c.convergence("")
		c.calls()
		c.memory("")
		c.flush()
		stopUnlessSettled(b, faulted)
	}
}

func detachUnderFaults(b *testing.B, cp controlPlane, manager string, faults ecsemu.Faults) outcome {
	b.Helper()
	t := startTrial(b, cp, manager, ecsemu.Fleet{
		Generate: []ecsemu.GenerateSpec{linuxFleet("i-fault", faultsInstances, ecsemu.StatusRunning, keyPair)},
	}, faults)
	defer t.close()
	t.create([]*ecsv1alpha1.KeyPairDetachment{
		detachment("detach", generated("i-fault", faultsInstances, 1, faultsInstances), ecsv1alpha1.RebootSpec{}),
	})
	return t.await(1, 20*time.Minute)
}

func faultsLabel(f ecsemu.Faults) string {
	return fmt.Sprintf("throttle rate %.1f, error rate %.1f on every call", f.ThrottleRate, f.ErrorRate)
}
