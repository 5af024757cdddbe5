package ecs

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterSetSharing(t *testing.T) {
	s := newLimiterSet(5, 2)
	a := s.get("ak:A", "cn-hangzhou")
	if s.get("ak:A", "cn-hangzhou") != a {
		t.Error("same identity and region got different limiters")
	}
	if s.get("ak:A", "cn-beijing") == a || s.get("ak:B", "cn-hangzhou") == a {
		t.Error("different identity or region share a limiter")
	}
	if a.Limit() != 5 || a.Burst() != 2 {
		t.Errorf("limit %v burst %d", a.Limit(), a.Burst())
	}
	if l := newLimiterSet(0, 0).get("k", "r"); l.Limit() != rate.Inf {
		t.Errorf("qps 0: limit %v, want Inf", l.Limit())
	}
	if l := newLimiterSet(1, 0).get("k", "r"); l.Burst() != 1 {
		t.Errorf("burst 0 with qps: %d, want 1", l.Burst())
	}
}

// TestRateLimitSharedAcrossClients spends the single token of a limiter that refills once in
// ~17 minutes: rate.Limiter refuses at once a wait that would pass the context's deadline, so
// the test observes which clients share a bucket without measuring time.
func TestRateLimitSharedAcrossClients(t *testing.T) {
	srv := newFakeECS(t, nil)
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), QPS: 0.001, Burst: 1, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	credsA := &Credentials{AccessKeyID: "LTAI_A", AccessKeySecret: "a"}
	credsB := &Credentials{AccessKeyID: "LTAI_B", AccessKeySecret: "b"}
	client := func(region string, creds *Credentials) Client {
		c, err := f.ForRegion(context.Background(), region, creds)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	call := func(c Client) error { _, err := c.KeyPairExists(ctx, "kp1"); return err }

	if err := call(client("cn-hangzhou", credsA)); err != nil {
		t.Fatalf("first call: %v", err)
	}
	err = call(client("cn-hangzhou", credsA))
	if err == nil {
		t.Fatal("second client of the same identity and region was not limited")
	}
	if Classify(err) != ClassRetryable || IsThrottling(err) {
		t.Errorf("limited call: %v (class %v)", err, Classify(err))
	}
	if err := call(client("cn-beijing", credsA)); err != nil {
		t.Errorf("other region: %v", err)
	}
	if err := call(client("cn-hangzhou", credsB)); err != nil {
		t.Errorf("other identity: %v", err)
	}
	if n := srv.total(); n != 3 {
		t.Errorf("%d requests reached ECS, want 3", n)
	}
}
