package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

const (
	eventNormal  = corev1.EventTypeNormal
	eventWarning = corev1.EventTypeWarning
)

// event records what a human must notice; polls and unchanged states emit nothing.
func (run *run) event(eventType, reason, action, note string, args ...any) {
	if run.r.Recorder == nil {
		return
	}
	run.r.Recorder.Eventf(run.obj.Object, nil, eventType, reason, action, note, args...)
}

// emitSummaryEvents reports transitions of the object's Ready condition that a human must see:
// credentials errors, a missing key pair, a refused pre-flight, a plan made, reboots held for
// their window, a halted or finished rollout, convergence.
func (run *run) emitSummaryEvents() {
	was := conditionReason(run.before, ecsv1alpha1.ConditionReady)
	now := conditionReason(run.obj.Status.Conditions, ecsv1alpha1.ConditionReady)
	if was == now {
		return
	}
	msg := conditionMessage(run.obj.Status.Conditions, ecsv1alpha1.ConditionReady)
	switch now {
	case ecsv1alpha1.ReasonCredentialsError, ecsv1alpha1.ReasonKeyPairNotFound, ecsv1alpha1.ReasonPartiallyFailed,
		ecsv1alpha1.ReasonPreflightFailed:
		run.event(eventWarning, now, "Reconcile", "%s", msg)
	case ecsv1alpha1.ReasonPlanned:
		run.event(eventNormal, now, "Plan", "%s", msg)
	case ecsv1alpha1.ReasonWaitingForWindow:
		run.event(eventNormal, now, "Reboot", "%s", msg)
	case ecsv1alpha1.ReasonRolloutHalted:
		run.event(eventWarning, "RolloutHalted", "Reboot", "%s", msg)
	case ecsv1alpha1.ReasonReady:
		if run.obj.Spec.Reboot.Enabled {
			run.event(eventNormal, "RolloutFinished", "Reboot", "%s", conditionMessage(run.obj.Status.Conditions, ecsv1alpha1.ConditionRebooted))
		}
		run.event(eventNormal, "Ready", "Reconcile", "%s", conditionMessage(run.obj.Status.Conditions, run.kind.condition))
	}
}

// conditionReason and conditionMessage read an object condition, empty when it is absent.
func conditionReason(conditions []metav1.Condition, t string) string {
	if c := meta.FindStatusCondition(conditions, t); c != nil {
		return c.Reason
	}
	return ""
}

func conditionMessage(conditions []metav1.Condition, t string) string {
	if c := meta.FindStatusCondition(conditions, t); c != nil {
		return c.Message
	}
	return ""
}
