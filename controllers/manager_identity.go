package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// managerIdentityAllowed says whether objects of namespace may act with the manager's own
// cloud identity. Whoever may create an object in a namespace would otherwise hold that
// identity's power over every instance it reaches, so it is granted per namespace, by the
// person who installs the manager (design.md §2).
func (r *Reconciler) managerIdentityAllowed(namespace string) bool {
	return slices.Contains(r.managerIdentityNamespaces, namespace)
}

// managerIdentityNotAllowed stops an object that leans on the manager's identity from a
// namespace not granted it. No ECS call is made. Only a spec change (a Secret of its own) or a
// manager flag change (which restarts the manager, and so reconciles again) can fix it, so it
// is terminal rather than retried.
func (run *run) managerIdentityNotAllowed(ctx context.Context) (ctrl.Result, error) {
	allowed := "no namespace"
	if len(run.r.managerIdentityNamespaces) > 0 {
		allowed = "only " + strings.Join(run.r.managerIdentityNamespaces, ", ")
	}
	run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonManagerIdentityNotAllowed, Message: fmt.Sprintf(
		"spec.credentialsSecretRef is not set, and namespace %s may not use the operator's own cloud identity "+
			"(allowed: %s). Set spec.credentialsSecretRef to a Secret in %s with accessKeyId and accessKeySecret, "+
			"or ask the operator's administrator to add %s to --manager-identity-namespaces",
		run.obj.GetNamespace(), allowed, run.obj.GetNamespace(), run.obj.GetNamespace())}
	ctrl.LoggerFrom(ctx).Info("Object may not use the manager's identity; no ECS call made",
		"namespace", run.obj.GetNamespace())
	return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("namespace %s may not use the manager's identity", run.obj.GetNamespace()))
}
