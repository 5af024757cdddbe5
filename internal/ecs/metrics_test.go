package ecs

import (
	"context"
	"net/url"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func callCount(action, code string) float64 {
	var m dto.Metric
	if err := callsTotal.WithLabelValues(action, code).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestMetrics(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"R","Instances":{"Instance":[]}}`
	})
	// Two factories: registration must happen once and not panic.
	_ = srv.client(t, FactoryOptions{})
	c := srv.client(t, FactoryOptions{})

	before := callCount(actionDescribeInstances, metricCodeOK)
	if _, err := c.DescribeInstances(context.Background(), []string{"i-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeInstances(context.Background(), nil); err != nil { // no call, not counted
		t.Fatal(err)
	}
	if got := callCount(actionDescribeInstances, metricCodeOK) - before; got != 1 {
		t.Errorf("calls_total{DescribeInstances,OK} grew by %v, want 1", got)
	}

	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range families {
		found[mf.GetName()] = true
	}
	for _, name := range []string{"ecs_keypair_operator_ecs_calls_total", "ecs_keypair_operator_ecs_call_duration_seconds"} {
		if !found[name] {
			t.Errorf("%s not on the controller-runtime registry", name)
		}
	}
}
