package bench

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const (
	memoryObjects   = 100
	memoryPerObject = 1000
	// memoryTargetMiB is issue 11's goal for the manager's peak RSS at 100 × 1,000.
	memoryTargetMiB = 150
)

// BenchmarkMemory tracks 100 objects × 1,000 instances with reboot enabled, so that every
// instance carries both conditions, and prints the manager's peak RSS and the objects' size.
// The instances are Stopped: each settles Rebooted=False/InstanceStopped without 100,000
// reboots, which would measure the emulator rather than the manager. The client-side rate is
// raised so that 3,000 calls do not take five minutes at the default 10 per second.
func BenchmarkMemory(b *testing.B) {
	cp := startControlPlane(b)
	manager := buildManager(b)
	for range b.N {
		total := memoryObjects * memoryPerObject
		t := startTrial(b, cp, manager, ecsemu.Fleet{
			Generate: []ecsemu.GenerateSpec{linuxFleet("i-mem", total, ecsemu.StatusStopped, keyPair)},
		}, ecsemu.Faults{}, "--ecs-qps", "200", "--ecs-burst", "200", "--max-concurrent-reconciles", "4")
		// Listing 100 objects of ~350 KB costs the API server more than the manager's work.
		t.pollEvery = 2 * time.Second
		objs := make([]*ecsv1alpha1.KeyPairDetachment, memoryObjects)
		for o := range objs {
			objs[o] = detachment(fmt.Sprintf("mem-%03d", o), generated("i-mem", total, o*memoryPerObject+1, memoryPerObject),
				rollout(100))
		}
		t.create(objs)
		out := t.await(memoryObjects, 30*time.Minute)
		largest, sum := 0, 0
		for i := range out.objects {
			raw, err := json.Marshal(&out.objects[i])
			if err != nil {
				b.Fatal(err)
			}
			largest = max(largest, len(raw))
			sum += len(raw)
		}
		peakMiB := float64(out.peakRSSKiB) / 1024
		b.ReportMetric(peakMiB, "manager-peak-MiB")
		b.ReportMetric(float64(largest), "largest-object-bytes")
		b.ReportMetric(out.converge.Seconds(), "converge-s")
		fmt.Printf("Memory objects=%d instances=%d (reboot enabled, both conditions per instance): manager peak RSS=%.1f MiB "+
			"(target %d MiB); objects as stored: largest %d bytes, mean %d bytes (%d per instance); converge=%s\n",
			memoryObjects, memoryPerObject, peakMiB, memoryTargetMiB, largest, sum/max(1, len(out.objects)),
			sum/max(1, len(out.objects))/memoryPerObject, settledIn(out))
		stopUnlessSettled(b, out)
		t.close()
	}
}
