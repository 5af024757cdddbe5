package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// Labels of the per-object series: a KeyPairDetachment and a KeyPairAttachment may share a
// namespace and name.
const (
	labelKind      = "kind"
	labelNamespace = "namespace"
	labelName      = "name"
)

var (
	instancesByOutcome = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_keypair_operator_instances",
		Help: "Instances of each object by outcome (total, detached or attached, rebooted, failed, pending).",
	}, []string{labelKind, labelNamespace, labelName, "outcome"})
	// rebootsInFlight and rebootCap show a rollout against its cap: a dashboard plots one
	// against the other.
	rebootsInFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_keypair_operator_reboots_in_flight",
		Help: "Instances of each object whose reboot is requested or under way.",
	}, []string{labelKind, labelNamespace, labelName})
	rebootCap = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecs_keypair_operator_reboot_max_concurrent",
		Help: "spec.reboot.maxConcurrent of each object with reboots enabled.",
	}, []string{labelKind, labelNamespace, labelName})
	rebootsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecs_keypair_operator_reboots_total",
		Help: "Instance reboots by outcome: accepted or refused by ECS when requested, then rebooted (Running again) or failed.",
	}, []string{"outcome"})
	registerMetricsOnce sync.Once
)

func registerMetrics() {
	registerMetricsOnce.Do(func() {
		metrics.Registry.MustRegister(instancesByOutcome, rebootsInFlight, rebootCap, rebootsTotal)
	})
}

func (r *Reconciler) recordInstanceGauges(obj *subject, s ecsv1alpha1.Summary) {
	registerMetrics()
	kind, ns, name := obj.kind.name, obj.GetNamespace(), obj.GetName()
	for outcome, v := range map[string]int32{
		"total": s.Total, obj.kind.summaryLabel: s.Detached, "rebooted": s.Rebooted, "failed": s.Failed, "pending": s.Pending,
	} {
		instancesByOutcome.WithLabelValues(kind, ns, name, outcome).Set(float64(v))
	}
	if !obj.Spec.Reboot.Enabled {
		rebootsInFlight.DeleteLabelValues(kind, ns, name)
		rebootCap.DeleteLabelValues(kind, ns, name)
		return
	}
	inFlight := 0
	for _, in := range obj.Status.Instances {
		if c := ecsv1alpha1.FindInstanceCondition(in.Conditions, ecsv1alpha1.ConditionRebooted); c != nil && rebootInFlight(c.Reason) {
			inFlight++
		}
	}
	rebootsInFlight.WithLabelValues(kind, ns, name).Set(float64(inFlight))
	rebootCap.WithLabelValues(kind, ns, name).Set(float64(obj.Spec.Reboot.MaxConcurrent))
}

// forgetObjectSeries deletes every series of the object's gauges.
func forgetObjectSeries(k *kind, name types.NamespacedName) {
	labels := prometheus.Labels{labelKind: k.name, labelNamespace: name.Namespace, labelName: name.Name}
	instancesByOutcome.DeletePartialMatch(labels)
	rebootsInFlight.DeletePartialMatch(labels)
	rebootCap.DeletePartialMatch(labels)
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
