package ecs

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

// TestAdaptiveLimiter: throttling halves the shared rate, at most once a second, down to ECS's
// 1 QPS probing rate; calls that pass raise it back step by step, never above --ecs-qps; no
// limit stays no limit.
func TestAdaptiveLimiter(t *testing.T) {
	clock := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	a := newAdaptiveLimiter(10, 20, "cn-hangzhou")
	a.now = func() time.Time { return clock }
	steps := []struct {
		after     time.Duration
		throttled bool
		want      rate.Limit
	}{
		{0, true, 5}, {100 * time.Millisecond, true, 5}, {time.Second, true, 2.5},
		{time.Second, true, 1.25}, {time.Second, true, 1}, {time.Second, true, 1},
		{0, false, 2}, {0, false, 3},
	}
	for n, s := range steps {
		clock = clock.Add(s.after)
		if s.throttled {
			a.throttled()
		} else {
			a.succeeded()
		}
		if got := a.Limit(); got != s.want {
			t.Fatalf("step %d: limit %v, want %v", n, got, s.want)
		}
	}
	for range 100 {
		a.succeeded()
	}
	if a.Limit() != 10 {
		t.Errorf("after 100 calls without throttling: %v, want the configured 10", a.Limit())
	}
	if a.Burst() != 20 {
		t.Errorf("burst %d changed", a.Burst())
	}
	low := newAdaptiveLimiter(0.5, 1, "r")
	low.throttled()
	if low.Limit() != 0.5 {
		t.Errorf("a configured rate below 1 QPS is not raised by throttling: %v", low.Limit())
	}
	unlimited := newAdaptiveLimiter(rate.Inf, 0, "r")
	unlimited.throttled()
	if unlimited.Limit() != rate.Inf {
		t.Errorf("no limit configured: %v after throttling", unlimited.Limit())
	}
}

// TestThrottlingSlowsEveryClientOfTheAccount: one client's throttled call lowers the budget
// the other clients of the same identity and region draw from, and only theirs.
func TestThrottlingSlowsEveryClientOfTheAccount(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 400, `{"RequestId":"R","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`
	})
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), QPS: 8, Burst: 8, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	creds := &Credentials{AccessKeyID: "LTAI_A", AccessKeySecret: "a"}
	c, err := f.ForRegion(context.Background(), "cn-hangzhou", creds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeyPairExists(context.Background(), "kp1"); !IsThrottling(err) {
		t.Fatalf("want throttling, got %v", err)
	}
	if got := f.limiters.get("ak:LTAI_A", "cn-hangzhou").Limit(); got != 4 {
		t.Errorf("shared limit after throttling = %v, want 4", got)
	}
	if got := f.limiters.get("ak:LTAI_A", "cn-beijing").Limit(); got != 8 {
		t.Errorf("another region's limit = %v, want 8", got)
	}
}

// TestAwaitBudgetPrepaysTheNextCall: the permit AwaitBudget takes is the next call's, so that
// call leaves at once and no second share of the budget is spent; the call after it waits.
func TestAwaitBudgetPrepaysTheNextCall(t *testing.T) {
	srv := newFakeECS(t, nil)
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), QPS: 0.001, Burst: 1, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.ForRegion(context.Background(), "cn-hangzhou", &Credentials{AccessKeyID: "LTAI_A", AccessKeySecret: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.AwaitBudget(ctx); err != nil {
		t.Fatalf("AwaitBudget with a token available: %v", err)
	}
	if err := c.AwaitBudget(ctx); err != nil {
		t.Fatalf("a second AwaitBudget before any call must keep the same permit: %v", err)
	}
	if _, err := c.KeyPairExists(ctx, "kp1"); err != nil {
		t.Fatalf("the prepaid call waited for the budget: %v", err)
	}
	if _, err := c.KeyPairExists(ctx, "kp1"); !NeverSent(err) {
		t.Errorf("the call after the prepaid one did not wait for the budget: %v", err)
	}
	if n := srv.total(); n != 1 {
		t.Errorf("%d requests reached ECS, want 1", n)
	}
}

// TestReleaseForgetsTheBudgetAndItsGauge: a released (identity, region) starts afresh, and the
// region's gauge series goes with the last budget of the region.
func TestReleaseForgetsTheBudgetAndItsGauge(t *testing.T) {
	f, err := NewFactory(FactoryOptions{QPS: 10, Burst: 1, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	a, b := &Credentials{AccessKeyID: "AK-A", AccessKeySecret: "s"}, &Credentials{AccessKeyID: "AK-B", AccessKeySecret: "s"}
	for _, c := range []*Credentials{a, b} {
		if _, err := f.ForRegion(context.Background(), "cn-release", c); err != nil {
			t.Fatal(err)
		}
	}
	lowered := f.limiters.get(staticLimitKey(a.AccessKeyID), "cn-release")
	lowered.throttled()
	if f.limiters.size() != 2 || !gaugeHasRegion("cn-release") {
		t.Fatalf("%d budgets, gauge present %v; want 2 and true", f.limiters.size(), gaugeHasRegion("cn-release"))
	}

	f.Release("cn-release", a)
	if f.limiters.size() != 1 || !gaugeHasRegion("cn-release") {
		t.Fatalf("after releasing one of two: %d budgets, gauge %v; want 1 and kept", f.limiters.size(), gaugeHasRegion("cn-release"))
	}
	if fresh := f.limiters.get(staticLimitKey(a.AccessKeyID), "cn-release"); fresh == lowered || fresh.Limit() != 10 {
		t.Errorf("a released budget must start afresh at --ecs-qps, got limit %v", fresh.Limit())
	}
	f.Release("cn-release", a)
	f.Release("cn-release", b)
	if f.limiters.size() != 0 || gaugeHasRegion("cn-release") {
		t.Errorf("after releasing all: %d budgets, gauge %v; want 0 and gone", f.limiters.size(), gaugeHasRegion("cn-release"))
	}
	f.Release("cn-nowhere", nil) // no manager identity, nothing held: a no-op
}

func gaugeHasRegion(region string) bool {
	ch := make(chan prometheus.Metric, 64)
	rateLimitQPS.Collect(ch)
	close(ch)
	for m := range ch {
		var out dto.Metric
		if m.Write(&out) != nil {
			continue
		}
		for _, l := range out.GetLabel() {
			if l.GetName() == "region" && l.GetValue() == region {
				return true
			}
		}
	}
	return false
}
