package ecs

import (
	"context"
	"net/url"
	"sync"
	"testing"
)

// TestConcurrentClients runs separate clients of one factory in parallel, and one client from
// several goroutines (documented as unsupported, but guarded); -race must stay quiet.
func TestConcurrentClients(t *testing.T) {
	srv := newFakeECS(t, func(action string, _ url.Values) (int, string) {
		if action == actionDetachKeyPair {
			return 200, `{"RequestId":"D","Results":{"Result":[{"InstanceId":"i-a","Success":"true","Code":"200"}]}}`
		}
		return 200, `{"RequestId":"R","Instances":{"Instance":[{"InstanceId":"i-a","Status":"Running"}]}}`
	})
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), QPS: 0, Env: envMap(map[string]string{
		EnvAccessKeyID: "LTAI_ENV", EnvAccessKeySecret: "env-secret"})})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := f.ForRegion(context.Background(), "cn-hangzhou", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := shared
			if g%3 != 0 {
				var err error
				region := []string{"cn-hangzhou", "cn-beijing"}[g%2]
				if c, err = f.ForRegion(context.Background(), region, nil); err != nil {
					t.Error(err)
					return
				}
			}
			for range 10 {
				if _, err := c.DescribeInstances(context.Background(), []string{"i-a"}); err != nil {
					t.Error(err)
					return
				}
				if res, err := c.DetachKeyPair(context.Background(), "kp1", []string{"i-a"}); err != nil || !res.Results[0].Succeeded() {
					t.Error(res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := srv.total(); n != 240 {
		t.Errorf("%d requests, want 240", n)
	}
}
