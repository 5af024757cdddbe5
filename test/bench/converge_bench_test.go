package bench

import (
	"fmt"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const objects = 10

// BenchmarkConverge detaches a key pair from N instances spread over 10 objects, with the
// manager's default client-side rate limit (--ecs-qps 10, --ecs-burst 20).
func BenchmarkConverge(b *testing.B) {
	cp := startControlPlane(b)
	manager := buildManager(b)
	for _, total := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", total), func(b *testing.B) {
			for range b.N {
				r := converge(b, cp, manager, total)
				b.ReportMetric(float64(r.describes), "DescribeInstances")
				b.ReportMetric(float64(r.detaches), "DetachKeyPair")
				b.ReportMetric(float64(r.keyPairChecks), "DescribeKeyPairs")
				b.ReportMetric(float64(r.preflight), "DescribeCloudAssistantStatus")
				b.ReportMetric(r.ratio(), "ratio-to-minimum")
				b.ReportMetric(r.converge.Seconds(), "converge-s")
				b.ReportMetric(float64(r.peakRSSKiB)/1024, "manager-peak-MiB")
				b.ReportMetric(float64(len(r.retries)), "retried-passes")
				fmt.Printf("instances=%d objects=%d: DescribeInstances=%d DetachKeyPair=%d DescribeKeyPairs=%d "+
					"DescribeCloudAssistantStatus=%d (pre-flight, not in the ratio) minimum=%d ratio=%.2f converge=%s manager peak RSS=%.1f MiB\n",
					total, objects, r.describes, r.detaches, r.keyPairChecks, r.preflight, r.minimum, r.ratio(),
					r.converge.Round(10*time.Millisecond), float64(r.peakRSSKiB)/1024)
				for _, line := range r.retries {
					fmt.Printf("  retried: %s\n", line)
				}
			}
		})
	}
}

type result struct {
	describes, detaches, keyPairChecks, preflight, minimum int
	converge                                               time.Duration
	peakRSSKiB                                             int
	// retries are passes the manager logged as failed and retried; they explain calls above
	// the minimum.
	retries []string
}

// ratio compares the describes and detaches made with the arithmetic minimum,
// ⌈n/100⌉ describes + ⌈a/50⌉ detaches per object.
func (r result) ratio() float64 { return float64(r.describes+r.detaches) / float64(r.minimum) }

func converge(b *testing.B, cp controlPlane, manager string, total int) result {
	b.Helper()
	t := startTrial(b, cp, manager, ecsemu.Fleet{
		Generate: []ecsemu.GenerateSpec{linuxFleet("i-bench", total, ecsemu.StatusRunning, keyPair)},
	}, ecsemu.Faults{})
	defer t.close()
	perObject := total / objects
	minimum := 0
	objs := make([]*ecsv1alpha1.KeyPairDetachment, objects)
	for o := range objs {
		minimum += ceilDiv(perObject, 100) + ceilDiv(perObject, 50)
		objs[o] = detachment(fmt.Sprintf("part-%02d", o), generated("i-bench", total, o*perObject+1, perObject),
			ecsv1alpha1.RebootSpec{})
	}
	t.create(objs)
	out := t.await(objects, 10*time.Minute)
	stopUnlessSettled(b, out)
	calls := out.stats.Calls
	return result{
		describes: calls["DescribeInstances"], detaches: calls["DetachKeyPair"], keyPairChecks: calls["DescribeKeyPairs"],
		preflight: calls["DescribeCloudAssistantStatus"],
		minimum:   minimum, converge: out.converge, peakRSSKiB: out.peakRSSKiB, retries: retriedPasses(b, out.logPath),
	}
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }
