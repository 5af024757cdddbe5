package ecs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metric label values besides ECS codes.
const (
	metricCodeOK      = "OK"
	metricCodeNetwork = "NetworkError"
)

var (
	callsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecs_keypair_operator_ecs_calls_total",
		Help: "ECS API calls by action and result: OK, the ECS error code, or NetworkError when ECS gave no answer. " +
			"Per-instance failures inside a successful batch call count as OK; a dry run that passed counts under " +
			"its ECS code (DRYRUN.SUCCESS), so that it is never mistaken for the real call.",
	}, []string{"action", "code"})
	callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ecs_keypair_operator_ecs_call_duration_seconds",
		Help:    "Duration of ECS API calls by action, including the wait for the client-side rate limit.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"action"})

	rateLimitQPS = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_keypair_operator_ecs_rate_limit_qps",
		Help: "The client-side ECS rate in force per region: --ecs-qps, lowered after throttling and raised again " +
			"call by call (the latest identity to change it).",
	}, []string{"region"})

	registerOnce sync.Once
)

// registerMetrics is idempotent so that factories can be built more than once (tests), and
// tolerates a registry that already holds the collectors.
func registerMetrics() {
	registerOnce.Do(func() {
		for _, c := range []prometheus.Collector{callsTotal, callDuration, rateLimitQPS} {
			if err := metrics.Registry.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	})
}

// meteredClient records every call of the Client it wraps; the SDK client stays free of
// instrumentation. One DescribeInstances counts once even if ECS paged the answer, which with
// at most MaxDescribeIDs IDs and pages of 100 does not happen in practice.
type meteredClient struct{ next Client }

func observe(action string, start time.Time, err error) {
	code := metricCodeOK
	if err != nil {
		code = ErrorCode(err)
		if code == "" {
			code = metricCodeNetwork
		}
	}
	callsTotal.WithLabelValues(action, code).Inc()
	callDuration.WithLabelValues(action).Observe(time.Since(start).Seconds())
}

func (m meteredClient) DescribeInstances(ctx context.Context, ids []string) ([]Instance, error) {
	if len(ids) == 0 {
		return m.next.DescribeInstances(ctx, ids) // no call is made
	}
	start := time.Now()
	out, err := m.next.DescribeInstances(ctx, ids)
	observe(actionDescribeInstances, start, err)
	return out, err
}

func (m meteredClient) KeyPairExists(ctx context.Context, keyPairName string) (bool, error) {
	start := time.Now()
	ok, err := m.next.KeyPairExists(ctx, keyPairName)
	observe(actionDescribeKeyPairs, start, err)
	return ok, err
}

func (m meteredClient) DetachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error) {
	if len(ids) == 0 {
		return m.next.DetachKeyPair(ctx, keyPairName, ids)
	}
	start := time.Now()
	res, err := m.next.DetachKeyPair(ctx, keyPairName, ids)
	observe(actionDetachKeyPair, start, err)
	return res, err
}

// AwaitBudget makes no call.
func (m meteredClient) AwaitBudget(ctx context.Context) error { return m.next.AwaitBudget(ctx) }

func (m meteredClient) RebootInstances(ctx context.Context, ids []string, forceStop bool) (BatchResult, error) {
	if len(ids) == 0 {
		return m.next.RebootInstances(ctx, ids, forceStop)
	}
	start := time.Now()
	res, err := m.next.RebootInstances(ctx, ids, forceStop)
	observe(actionRebootInstances, start, err)
	return res, err
}

func (m meteredClient) CloudAssistantStatus(ctx context.Context, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return m.next.CloudAssistantStatus(ctx, ids)
	}
	start := time.Now()
	out, err := m.next.CloudAssistantStatus(ctx, ids)
	observe(actionCloudAssistant, start, err)
	return out, err
}

// dryRunPassedCode labels a RebootDryRun that passed, apart from real reboots that answered OK.
const dryRunPassedCode = "DRYRUN.SUCCESS"

func (m meteredClient) RebootDryRun(ctx context.Context, ids []string, forceStop bool) error {
	if len(ids) == 0 {
		return m.next.RebootDryRun(ctx, ids, forceStop)
	}
	start := time.Now()
	err := m.next.RebootDryRun(ctx, ids, forceStop)
	if err == nil {
		callsTotal.WithLabelValues(actionRebootInstances, dryRunPassedCode).Inc()
		callDuration.WithLabelValues(actionRebootInstances).Observe(time.Since(start).Seconds())
	} else {
		observe(actionRebootInstances, start, err)
	}
	return err
}

func (m meteredClient) AttachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error) {
	if len(ids) == 0 {
		return m.next.AttachKeyPair(ctx, keyPairName, ids)
	}
	start := time.Now()
	res, err := m.next.AttachKeyPair(ctx, keyPairName, ids)
	observe(actionAttachKeyPair, start, err)
	return res, err
}
