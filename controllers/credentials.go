package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// Keys of the credentials Secret.
const (
	SecretKeyAccessKeyID     = "accessKeyId"
	SecretKeyAccessKeySecret = "accessKeySecret"
	SecretKeySecurityToken   = "securityToken"
)

// credentials reads the object's Secret, if it names one. A Secret that is missing or lacks a
// key is an objectProblem whose message names the Secret and the key, never a value; other
// API errors are returned for a retry. No ref: nil credentials, the manager's own identity.
func (r *Reconciler) credentials(
	ctx context.Context, obj *subject,
) (*ecs.Credentials, *objectProblem, error) {
	ref := obj.Spec.CredentialsSecretRef
	if ref == nil {
		return nil, nil, nil
	}
	name := types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, name, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &objectProblem{Reason: ecsv1alpha1.ReasonCredentialsError,
				Message: fmt.Sprintf("Secret %s named by spec.credentialsSecretRef does not exist", name)}, nil
		}
		if apierrors.IsForbidden(err) {
			return nil, &objectProblem{Reason: ecsv1alpha1.ReasonCredentialsError,
				Message: fmt.Sprintf("the operator may not read Secret %s: %v", name, err)}, nil
		}
		return nil, nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	// Surrounding whitespace is never part of an AccessKey, but `kubectl create secret
	// --from-file` keeps the file's trailing newline, and ECS then rejects a correct key.
	value := func(key string) string { return strings.TrimSpace(string(secret.Data[key])) }
	for _, key := range []string{SecretKeyAccessKeyID, SecretKeyAccessKeySecret} {
		if value(key) == "" {
			return nil, &objectProblem{Reason: ecsv1alpha1.ReasonCredentialsError,
				Message: fmt.Sprintf("Secret %s has no key %q (want %s, %s and optionally %s)",
					name, key, SecretKeyAccessKeyID, SecretKeyAccessKeySecret, SecretKeySecurityToken)}, nil
		}
	}
	return &ecs.Credentials{
		AccessKeyID:     value(SecretKeyAccessKeyID),
		AccessKeySecret: value(SecretKeyAccessKeySecret),
		SecurityToken:   value(SecretKeySecurityToken),
	}, nil, nil
}
