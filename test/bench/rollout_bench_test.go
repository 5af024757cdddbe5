package bench

import (
	"fmt"
	"maps"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const (
	rolloutObjects       = 10
	rolloutPerObject     = 100
	rolloutMaxConcurrent = 10
)

// BenchmarkRebootRollout detaches and reboots 10 objects × 100 Running instances, 10 at a time
// per object, and prints the calls against the arithmetic minimum, the reboots per instance
// and the concurrency actually reached.
func BenchmarkRebootRollout(b *testing.B) {
	cp := startControlPlane(b)
	manager := buildManager(b)
	for range b.N {
		rebootRollout(b, cp, manager)
	}
}

func rebootRollout(b *testing.B, cp controlPlane, manager string) {
	b.Helper()
	total := rolloutObjects * rolloutPerObject
	t := startTrial(b, cp, manager, ecsemu.Fleet{
		Generate:  []ecsemu.GenerateSpec{linuxFleet("i-roll", total, ecsemu.StatusRunning, keyPair)},
		Lifecycle: fastLifecycle,
	}, ecsemu.Faults{})
	defer t.close()
	objs := make([]*ecsv1alpha1.KeyPairDetachment, rolloutObjects)
	for o := range objs {
		objs[o] = detachment(fmt.Sprintf("roll-%02d", o), generated("i-roll", total, o*rolloutPerObject+1, rolloutPerObject),
			rollout(rolloutMaxConcurrent))
	}
	writes := t.countWrites()
	t.create(objs)
	peaks := inFlightPeaks{}
	out := t.await(rolloutObjects, 20*time.Minute, peaks.observe)
	statusWrites := writes.total()

	calls := maps.Clone(out.stats.Calls)
	keyPairChecks := calls["DescribeKeyPairs"]
	delete(calls, "DescribeKeyPairs")
	least := rolloutMinimum{objects: rolloutObjects, n: rolloutPerObject, running: rolloutPerObject, maxConcurrent: rolloutMaxConcurrent}
	ratioToMinimum := float64(sum(calls)) / float64(least.total())
	reboots := rebootsPer(b, out.stats, "rollout: Running instances", generated("i-roll", total, 1, total), 1)
	perObject := peaks.highest(b, "rollout", rolloutMaxConcurrent)
	fleetCap := rolloutObjects * rolloutMaxConcurrent
	fleet := fleetPeak(b, "rollout", out.stats, fleetCap)

	for action, n := range calls {
		b.ReportMetric(float64(n), action)
	}
	b.ReportMetric(float64(keyPairChecks), "DescribeKeyPairs")
	b.ReportMetric(ratioToMinimum, "ratio-to-minimum")
	b.ReportMetric(float64(reboots.least), "reboots-per-instance-min")
	b.ReportMetric(float64(reboots.most), "reboots-per-instance-max")
	b.ReportMetric(float64(perObject), "peak-in-flight-per-object")
	b.ReportMetric(float64(fleet), "peak-concurrent-reboots")
	b.ReportMetric(float64(statusWrites)/rolloutObjects, "writes-per-object")
	b.ReportMetric(out.converge.Seconds(), "converge-s")
	b.ReportMetric(float64(out.peakRSSKiB)/1024, "manager-peak-MiB")
	fmt.Printf("RebootRollout objects=%d instances=%d maxConcurrent=%d: %s calls=%d minimum=%d ratio=%.2f "+
		"(minimum: %s; DescribeKeyPairs=%d, not in the ratio)\n",
		rolloutObjects, rolloutPerObject, rolloutMaxConcurrent, countsLine(calls), sum(calls), least.total(), ratioToMinimum,
		least, keyPairChecks)
	fmt.Printf("  reboots per Running instance: %s over %d instances\n", reboots, total)
	fmt.Printf("  reboots in flight: per object at most %d (cap maxConcurrent %d; status sampled every %s); "+
		"fleet-wide at most %d in the emulator (cap %d objects × %d = %d)\n",
		perObject, rolloutMaxConcurrent, pollEvery, fleet, rolloutObjects, rolloutMaxConcurrent, fleetCap)
	fmt.Printf("  API server writes (status and finalizer) by the manager: %d, %.1f per object of %d instances\n",
		statusWrites, float64(statusWrites)/rolloutObjects, rolloutPerObject)
	fmt.Printf("  converge=%s manager peak RSS=%s\n", settledIn(out), mib(out.peakRSSKiB))
	stopUnlessSettled(b, out)
}

// rolloutMinimum is the fewest calls a rollout can make when every object has n instances,
// running of them Running: per object one describe per 100 instances, the pre-flight (one
// Cloud Assistant query per 100 instances to change, one reboot dry run per 100 Running ones),
// one detach per 50 and one reboot call per maxConcurrent; then one describe per 100 instances
// in flight, across all objects, to confirm each wave.
type rolloutMinimum struct{ objects, n, running, maxConcurrent int }

func (m rolloutMinimum) perObject() (describes, preflight, detaches, reboots int) {
	return ceilDiv(m.n, 100), ceilDiv(m.n, 100) + ceilDiv(m.running, 100), ceilDiv(m.n, 50), ceilDiv(m.running, m.maxConcurrent)
}

func (m rolloutMinimum) waves() (waves, describesPerWave int) {
	return ceilDiv(m.n, m.maxConcurrent), ceilDiv(m.objects*min(m.maxConcurrent, m.running), 100)
}

func (m rolloutMinimum) total() int {
	d, p, dk, r := m.perObject()
	w, dw := m.waves()
	return m.objects*(d+p+dk+r) + w*dw
}

func (m rolloutMinimum) String() string {
	d, p, dk, r := m.perObject()
	w, dw := m.waves()
	return fmt.Sprintf("per object ⌈n/100⌉ DescribeInstances + ⌈n/100⌉ DescribeCloudAssistantStatus and ⌈running/100⌉ "+
		"RebootInstances dry runs (the pre-flight) + ⌈n/50⌉ DetachKeyPair + ⌈running/maxConcurrent⌉ RebootInstances, "+
		"plus ⌈n/maxConcurrent⌉ waves × ⌈(in flight across all objects)/100⌉ DescribeInstances to confirm each wave "+
		"= %d×(%d+%d+%d+%d) + %d×%d = %d", m.objects, d, p, dk, r, w, dw, m.total())
}
