package controllers

import (
	"context"
	"math/rand/v2"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// retryPolicy bounds the retries of one call inside a pass, in attempts and in time: enough to
// ride out a burst of throttling or a flaky gateway, short enough that a pass still ends and
// writes what it settled.
type retryPolicy struct {
	attempts  int
	baseDelay time.Duration
	maxDelay  time.Duration
	budget    time.Duration
}

var defaultRetryPolicy = retryPolicy{attempts: 5, baseDelay: 250 * time.Millisecond, maxDelay: 4 * time.Second, budget: 15 * time.Second}

// retryingClient retries reads inside the pass: throttling, 5xx answers and lost answers alike,
// since asking again changes nothing. Every attempt waits for the shared per-(identity,
// region) budget, which throttling lowers for everyone (internal/ecs).
type retryingClient struct {
	ecs.Client
	policy retryPolicy
}

func withRetries(c ecs.Client, p retryPolicy) ecs.Client {
	if p.attempts <= 1 {
		return c
	}
	return retryingClient{Client: c, policy: p}
}

func (c retryingClient) DescribeInstances(ctx context.Context, ids []string) ([]ecs.Instance, error) {
	var out []ecs.Instance
	err := c.retry(ctx, "DescribeInstances", retryableRead, func() (err error) {
		out, err = c.Client.DescribeInstances(ctx, ids)
		return err
	})
	return out, err
}

func (c retryingClient) KeyPairExists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := c.retry(ctx, "DescribeKeyPairs", retryableRead, func() (err error) {
		ok, err = c.Client.KeyPairExists(ctx, name)
		return err
	})
	return ok, err
}

func (c retryingClient) CloudAssistantStatus(ctx context.Context, ids []string) (map[string]bool, error) {
	var out map[string]bool
	err := c.retry(ctx, "DescribeCloudAssistantStatus", retryableRead, func() (err error) {
		out, err = c.Client.CloudAssistantStatus(ctx, ids)
		return err
	})
	return out, err
}

// RebootDryRun changes nothing, so it is retried as a read.
func (c retryingClient) RebootDryRun(ctx context.Context, ids []string, forceStop bool) error {
	return c.retry(ctx, "RebootInstances", retryableRead, func() error {
		return c.Client.RebootDryRun(ctx, ids, forceStop)
	})
}

// Changes (DetachKeyPair, AttachKeyPair, RebootInstances) are not retried here: the reconciler withdraws and
// persists their markers before it asks again (detach, sendReboots), so that a crash never
// leaves a marker for a request that was refused.
// retryableRead: any retryable error; a read may be repeated whatever happened to the first.
func retryableRead(err error) bool {
	return ecs.Classify(err) == ecs.ClassRetryable
}

func (c retryingClient) retry(ctx context.Context, action string, retryable func(error) bool, call func() error) error {
	deadline := time.Now().Add(c.policy.budget)
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || !retryable(err) || attempt >= c.policy.attempts {
			return err
		}
		ctrl.LoggerFrom(ctx).V(1).Info("ECS call refused; retrying within the pass", "action", action,
			"code", ecs.ErrorCode(err), "attempt", attempt)
		if !c.policy.sleep(ctx, attempt, deadline) {
			return err
		}
	}
}

// sleep waits before retry number attempt, with full jitter (callers throttled together do
// not come back together); false when the wait would pass deadline or ctx ended.
func (p retryPolicy) sleep(ctx context.Context, attempt int, deadline time.Time) bool {
	delay := p.baseDelay
	for range attempt - 1 {
		delay = min(2*delay, p.maxDelay)
	}
	wait := time.Duration(rand.Int64N(int64(delay) + 1))
	if time.Now().Add(wait).After(deadline) {
		return false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
