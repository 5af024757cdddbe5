package ecsemu

import (
	"sync"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// TestConcurrentUse runs every kind of call, the Go API and the admin view at once, so the race
// detector sees the emulator's locking under load.
func TestConcurrentUse(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	e.SetLifecycle(time.Millisecond, time.Millisecond)
	const workers = 8
	clients := make([]*ecs.Client, workers)
	for i := range clients {
		clients[i] = newClient(t, ep, defaultClient())
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*10*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w]
			for i := range 10 {
				ids := genIDs(1+(w*10+i)%140, 5)
				_, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), InstanceIds: jsonIDs(ids...)}, rt())
				errs <- err
				_, err = c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs(ids...)}, rt())
				errs <- err
				// Some of these reboots collide with others in flight; SuccessFirst reports them per instance.
				_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{RegionId: dara.String(testRegion), InstanceId: stringPtrs(ids), BatchOptimization: dara.String("SuccessFirst")}, rt())
				errs <- err
				_ = e.Instances()
				_ = e.Stats()
				_ = e.SetInstanceKeyPair(ids[0], testKey)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := e.Stats()
	if s.Calls["DescribeInstances"] != workers*10 || s.Calls["RebootInstances"] != workers*10 || len(s.Reboots) == 0 {
		t.Errorf("stats = calls %v, %d instances rebooted", s.Calls, len(s.Reboots))
	}
}
