package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var (
	instancesByOutcome = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_keypair_operator_instances",
		Help: "Instances of each KeyPairDetachment by outcome (total, detached, rebooted, failed, pending).",
	}, []string{"namespace", "name", "outcome"})
	rebootsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecs_keypair_operator_reboots_total",
		Help: "Instance reboots by outcome: accepted or refused by ECS when requested, then rebooted (Running again) or failed.",
	}, []string{"outcome"})
	registerMetricsOnce sync.Once
)

func registerMetrics() {
	registerMetricsOnce.Do(func() {
		metrics.Registry.MustRegister(instancesByOutcome, rebootsTotal)
	})
}

func (r *KeyPairDetachmentReconciler) recordInstanceGauges(obj *ecsv1alpha1.KeyPairDetachment, s ecsv1alpha1.Summary) {
	registerMetrics()
	for outcome, v := range map[string]int32{
		"total": s.Total, "detached": s.Detached, "rebooted": s.Rebooted, "failed": s.Failed, "pending": s.Pending,
	} {
		instancesByOutcome.WithLabelValues(obj.Namespace, obj.Name, outcome).Set(float64(v))
	}
}

// Outcomes of the reboots_total metric.
const (
	rebootAccepted = "accepted"
	rebootRefused  = "refused"
	rebootDone     = "rebooted"
	rebootFailed   = "failed"
)

func countReboots(outcome string, n int) {
	registerMetrics()
	rebootsTotal.WithLabelValues(outcome).Add(float64(n))
}
