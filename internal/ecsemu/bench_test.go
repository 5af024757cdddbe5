package ecsemu

import (
	"sync"
	"sync/atomic"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// benchFleet is the size of fleet the operator's benchmarks run against.
func benchFleet() Fleet {
	return Fleet{
		Accounts: []Account{{AccessKeyID: testAK, AccessKeySecret: testSecret}},
		Generate: []GenerateSpec{{Count: 10000, Prefix: "i-b", RegionID: testRegion, KeyPairName: testKey}},
	}
}

func benchIDs(batch, size int) *string {
	ids := make([]string, size)
	for i := range ids {
		ids[i] = generatedID("i-b", 5, (batch*size+i)%10000+1)
	}
	return jsonIDs(ids...)
}

// runParallelSDK drives op from parallel goroutines, each with its own SDK client (one shared
// client races inside the SDK), and reports throughput as ops/s.
func runParallelSDK(b *testing.B, op func(c *ecs.Client, n int) error) {
	_, ep := startEmulator(b, benchFleet())
	var seq atomic.Int64
	var mu sync.Mutex
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock() // newClient registers cleanups on b, which is not safe from many goroutines
		c := newClient(b, ep, defaultClient())
		mu.Unlock()
		for pb.Next() {
			if err := op(c, int(seq.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkDescribeInstances100(b *testing.B) {
	runParallelSDK(b, func(c *ecs.Client, n int) error {
		resp, err := c.DescribeInstancesWithContext(b.Context(), &ecs.DescribeInstancesRequest{
			RegionId: dara.String(testRegion), InstanceIds: benchIDs(n, 100), MaxResults: dara.Int32(100),
		}, rt())
		if err == nil && len(resp.Body.Instances.Instance) != 100 {
			b.Errorf("got %d instances", len(resp.Body.Instances.Instance))
		}
		return err
	})
}

func BenchmarkDetachKeyPair50(b *testing.B) {
	runParallelSDK(b, func(c *ecs.Client, n int) error {
		// Alternate detach and attach of the same batch so every call changes 50 instances.
		req := &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: benchIDs(n/2, 50)}
		if n%2 == 0 {
			_, err := c.AttachKeyPairWithContext(b.Context(), &ecs.AttachKeyPairRequest{
				RegionId: req.RegionId, KeyPairName: req.KeyPairName, InstanceIds: req.InstanceIds,
			}, rt())
			return err
		}
		_, err := c.DetachKeyPairWithContext(b.Context(), req, rt())
		return err
	})
}
