package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// detachmentFor is the KeyPairDetachment of a plan: reboot enabled, credentials from the demo
// Secret, everything else left to the API server's defaults.
func detachmentFor(p objectPlan, fleet []ecsemu.Instance) *ecsv1alpha1.KeyPairDetachment {
	return &ecsv1alpha1.KeyPairDetachment{
		TypeMeta:   metav1.TypeMeta{APIVersion: ecsv1alpha1.GroupVersion.String(), Kind: "KeyPairDetachment"},
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: demoNamespace},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{
			RegionID:             demoRegion,
			KeyPairName:          demoKeyPair,
			InstanceIDs:          p.instanceIDs(fleet),
			CredentialsSecretRef: &ecsv1alpha1.SecretReference{Name: demoSecret},
			Reboot:               ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: p.maxConcurrent},
		},
	}
}

// applyDemoObjects creates the namespace, the credentials Secret and the KeyPairDetachments,
// and writes the detachments to manifestPath so the user can read what was applied.
func applyDemoObjects(ctx context.Context, c client.Client, account ecsemu.Account,
	objs []*ecsv1alpha1.KeyPairDetachment, manifestPath string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if err := c.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: demoSecret, Namespace: demoNamespace},
		StringData: map[string]string{"accessKeyId": account.AccessKeyID, "accessKeySecret": account.AccessKeySecret},
	}
	if err := c.Create(ctx, secret); err != nil {
		return fmt.Errorf("create secret %s/%s: %w", demoNamespace, demoSecret, err)
	}
	var manifests bytes.Buffer
	for _, obj := range objs {
		// The manifest is the end state the demo leads to: applied again, it must not turn the
		// objects back into plans.
		spec := obj.Spec
		spec.Mode = ecsv1alpha1.ModeApply
		data, err := yaml.Marshal(map[string]any{
			"apiVersion": obj.APIVersion, "kind": obj.Kind,
			"metadata": map[string]string{"name": obj.Name, "namespace": obj.Namespace},
			"spec":     spec,
		})
		if err != nil {
			return fmt.Errorf("render %s: %w", obj.Name, err)
		}
		manifests.WriteString("---\n")
		manifests.Write(data)
		if err := c.Create(ctx, obj.DeepCopy()); err != nil {
			return fmt.Errorf("create KeyPairDetachment %s/%s: %w", obj.Namespace, obj.Name, err)
		}
	}
	if err := os.WriteFile(manifestPath, manifests.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", manifestPath, err)
	}
	return nil
}
