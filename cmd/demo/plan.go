package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// planTimeout bounds the wait for the plans; a plan is one observation.
const planTimeout = 2 * time.Minute

// showPlans is what a careful user does first: the objects were created in spec.mode Plan;
// the demo waits for their plans, prints them with the emulator's proof that nothing changed,
// then switches them to Apply.
func (d *demo) showPlans(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, planTimeout)
	defer cancel()
	var objs []*ecsv1alpha1.KeyPairDetachment
	for {
		var err error
		if objs, err = fetchObjects(ctx, d.c, d.names); err != nil {
			return err
		}
		if allPlanned(objs) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no plan within %s; see %s", planTimeout, d.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
	stats := d.emu.Stats()
	d.say("Plans (spec.mode: Plan): ECS was observed, nothing changed (%d DetachKeyPair calls, %d reboots so far)",
		stats.Calls["DetachKeyPair"], len(stats.Reboots))
	for _, obj := range objs {
		printf(d.o.out, "      %-24s %s\n", obj.Name, obj.Status.Plan.Summary)
		if c := meta.FindStatusCondition(obj.Status.Conditions, ecsv1alpha1.ConditionPreflightPassed); c != nil {
			printf(d.o.out, "      %-24s pre-flight %s/%s: %s\n", "", c.Status, c.Reason, c.Message)
		}
	}
	for _, name := range d.names {
		if err := d.setMode(ctx, name, ecsv1alpha1.ModeApply); err != nil {
			return err
		}
	}
	d.say("Switched both to spec.mode: Apply; they proceed from their plans")
	printf(d.o.out, "\n")
	return nil
}

// allPlanned reports whether every object has a plan for its current generation.
func allPlanned(objs []*ecsv1alpha1.KeyPairDetachment) bool {
	for _, obj := range objs {
		ready := meta.FindStatusCondition(obj.Status.Conditions, ecsv1alpha1.ConditionReady)
		if obj.Status.Plan == nil || obj.Status.ObservedGeneration != obj.Generation ||
			ready == nil || ready.Reason != ecsv1alpha1.ReasonPlanned {
			return false
		}
	}
	return true
}

func (d *demo) setMode(ctx context.Context, name string, mode ecsv1alpha1.Mode) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := &ecsv1alpha1.KeyPairDetachment{}
		if err := d.c.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: name}, obj); err != nil {
			return err
		}
		obj.Spec.Mode = mode
		return d.c.Update(ctx, obj)
	})
}
