package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestRetriesInsideThePass is the table of which failures the client retries by itself: any
// retryable failure of a read; never a change, whose markers the reconciler withdraws first
// (TestDetachFailurePoints, TestRefusedRebootIsWithdrawnBeforeItIsAskedAgain).
func TestRetriesInsideThePass(t *testing.T) {
	policy := retryPolicy{attempts: 4, baseDelay: time.Millisecond, maxDelay: 2 * time.Millisecond, budget: time.Second}
	cases := []struct {
		name      string
		action    string
		errs      []error // answers in order; after them, success
		wantCalls int
		wantErr   bool
	}{
		{"throttled describe, then success", "DescribeInstances", []error{errThrottled, errThrottled}, 3, false},
		{"a lost describe answer is asked again", "DescribeInstances", []error{errLostAnswer}, 2, false},
		{"a refused detach is the reconciler's to withdraw and send again", "DetachKeyPair", []error{errThrottled}, 1, true},
		{"a lost detach answer is not retried: the marker settles it", "DetachKeyPair", []error{errLostAnswer}, 1, true},
		{"a refused reboot is the reconciler's to withdraw and ask again", "RebootInstances", []error{errThrottled}, 1, true},
		{"a lost reboot answer is never retried", "RebootInstances", []error{errLostAnswer}, 1, true},
		{"a terminal refusal of a read is not retried", "DescribeInstances",
			[]error{&ecs.APIError{Code: "InvalidKeyPairName.NotFound", StatusCode: 404}}, 1, true},
		{"a throttled Cloud Assistant read is asked again", "DescribeCloudAssistantStatus", []error{errThrottled}, 2, false},
		{"a reboot dry run changes nothing and is retried as a read", "RebootDryRun", []error{errServerFault, errLostAnswer}, 3, false},
		{"a dry run refused for permission is an answer, not a fault", "RebootDryRun",
			[]error{&ecs.APIError{Code: "Forbidden.RAM", StatusCode: 403}}, 1, true},
		{"an attach is a change and is never retried", "AttachKeyPair", []error{errThrottled}, 1, true},
		{"attempts are bounded", "DescribeInstances",
			[]error{errThrottled, errThrottled, errThrottled, errThrottled, errThrottled}, 4, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := func(n int) error {
				if n < len(tc.errs) {
					return tc.errs[n]
				}
				return nil
			}
			fake := &fakeECS{t: t}
			fake.DescribeInstancesFn = func([]string) ([]ecs.Instance, error) {
				return nil, answer(fake.calls["DescribeInstances"] - 1)
			}
			fake.DetachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) {
				return allSucceed(ids), answer(fake.calls["DetachKeyPair"] - 1)
			}
			fake.RebootInstancesFn = func(ids []string, _ bool) (ecs.BatchResult, error) {
				return allSucceed(ids), answer(fake.calls["RebootInstances"] - 1)
			}
			fake.CloudAssistantFn = func([]string) (map[string]bool, error) {
				return map[string]bool{"i-a": true}, answer(fake.calls["DescribeCloudAssistantStatus"] - 1)
			}
			fake.RebootDryRunFn = func([]string, bool) error { return answer(fake.calls["RebootDryRun"] - 1) }
			fake.AttachKeyPairFn = func(_ string, ids []string) (ecs.BatchResult, error) {
				return allSucceed(ids), answer(fake.calls["AttachKeyPair"] - 1)
			}
			c := withRetries(fake, policy)
			var err error
			ctx := context.Background()
			switch tc.action {
			case "DescribeInstances":
				_, err = c.DescribeInstances(ctx, []string{"i-a"})
			case "DetachKeyPair":
				_, err = c.DetachKeyPair(ctx, "K1", []string{"i-a"})
			case "RebootInstances":
				_, err = c.RebootInstances(ctx, []string{"i-a"}, false)
			case "DescribeCloudAssistantStatus":
				_, err = c.CloudAssistantStatus(ctx, []string{"i-a"})
			case "RebootDryRun":
				err = c.RebootDryRun(ctx, []string{"i-a"}, false)
			case "AttachKeyPair":
				_, err = c.AttachKeyPair(ctx, "K1", []string{"i-a"})
			}
			if got := fake.calls[tc.action]; got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %t", err, tc.wantErr)
			}
		})
	}
}

// TestRetriesStopWithTheContext: a pass that is cancelled (the manager stops) does not sit out
// its backoff.
func TestRetriesStopWithTheContext(t *testing.T) {
	fake := &fakeECS{t: t, DescribeInstancesFn: func([]string) ([]ecs.Instance, error) { return nil, errThrottled }}
	c := withRetries(fake, retryPolicy{attempts: 10, baseDelay: time.Hour, maxDelay: time.Hour, budget: 100 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.DescribeInstances(ctx, []string{"i-a"}); err == nil {
		t.Fatal("want the throttling error")
	}
	if fake.calls["DescribeInstances"] != 1 {
		t.Errorf("%d calls after cancellation", fake.calls["DescribeInstances"])
	}
}

// TestPassBackoffIsCapped: a streak of failed passes never waits more than backoffCap, and one
// good pass starts again from the base.
func TestPassBackoffIsCapped(t *testing.T) {
	var b passBackoff
	var last time.Duration
	for range 50 {
		last = b.next("uid")
		if last > backoffCap {
			t.Fatalf("delay %s above the %s cap", last, backoffCap)
		}
	}
	if last < backoffCap/2 {
		t.Errorf("after 50 failures the delay is %s, want about the cap", last)
	}
	b.reset("uid")
	if d := b.next("uid"); d > backoffBase {
		t.Errorf("after a reset the delay is %s, want at most %s", d, backoffBase)
	}
}
