package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// The rotation the demo shows after the detachments: the bastions the CMDB list left alone
// (they carry the ops team's key) get the ops team's new key, replacing the old one, with one
// reboot each.
const (
	rotationName   = "rotate-bastion-key"
	rotationOldKey = "OpsBastion2024"
	rotationNewKey = "OpsBastion2026"
	rotationPrefix = "i-bp1ops"
)

// rotationFor is the KeyPairAttachment of the rotation.
func rotationFor(fleet []ecsemu.Instance) *ecsv1alpha1.KeyPairAttachment {
	var ids []string
	for _, in := range fleet {
		if strings.HasPrefix(in.InstanceID, rotationPrefix) {
			ids = append(ids, in.InstanceID)
		}
	}
	return &ecsv1alpha1.KeyPairAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: rotationName, Namespace: demoNamespace},
		Spec: ecsv1alpha1.KeyPairAttachmentSpec{
			KeyPairDetachmentSpec: ecsv1alpha1.KeyPairDetachmentSpec{
				RegionID: demoRegion, KeyPairName: rotationNewKey, InstanceIDs: ids,
				CredentialsSecretRef: &ecsv1alpha1.SecretReference{Name: demoSecret},
				Reboot:               ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: 4},
			},
			ReplaceKeyPairs: []string{rotationOldKey},
		},
	}
}

// rotate applies the rotation and waits until it is Ready; it returns the object as it ended.
func (d *demo) rotate(ctx context.Context) (*ecsv1alpha1.KeyPairAttachment, error) {
	obj := rotationFor(d.before)
	d.say("Rotating a key: KeyPairAttachment %s puts %s on the %d bastions, replacing %s, one reboot each (maxConcurrent 4)",
		rotationName, rotationNewKey, len(obj.Spec.InstanceIDs), rotationOldKey)
	if err := d.c.Create(ctx, obj); err != nil {
		return nil, fmt.Errorf("create KeyPairAttachment %s: %w", rotationName, err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		latest := &ecsv1alpha1.KeyPairAttachment{}
		if err := d.c.Get(ctx, client.ObjectKeyFromObject(obj), latest); err != nil {
			return nil, err
		}
		if latest.Status.ObservedGeneration == latest.Generation &&
			meta.IsStatusConditionTrue(latest.Status.Conditions, ecsv1alpha1.ConditionReady) {
			s := latest.Status.Summary
			d.say("%s/%s: Ready=True: %d of %d attached, %d rebooted", demoNamespace, rotationName, s.Attached, s.Total, s.Rebooted)
			return latest, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("KeyPairAttachment %s not Ready within a minute: %w", rotationName, ctx.Err())
		case <-time.After(d.o.refresh):
		}
	}
}

// checkRotation compares the rotated bastions with the emulator: the new key on each, one
// reboot each (their first: the detachments left them alone).
func checkRotation(obj *ecsv1alpha1.KeyPairAttachment, emu *ecsemu.Emulator) (string, error) {
	stats := emu.Stats()
	keys := map[string]string{}
	for _, in := range emu.Instances() {
		keys[in.InstanceID] = in.KeyPairName
	}
	for _, id := range obj.Spec.InstanceIDs {
		if keys[id] != rotationNewKey || stats.Reboots[id] != 1 {
			return "", fmt.Errorf("%w: %s carries %q after %d reboots, want %s after one", errUnexpected, id, keys[id],
				stats.Reboots[id], rotationNewKey)
		}
	}
	return fmt.Sprintf("The emulator confirms: the %d bastions carry %s, each rebooted once, in %d AttachKeyPair call(s).",
		len(obj.Spec.InstanceIDs), rotationNewKey, stats.Calls["AttachKeyPair"]), nil
}
