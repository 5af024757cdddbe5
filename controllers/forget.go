package controllers

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// remember notes which UID a name stands for, so that when the object is gone (and only its
// name is left) everything kept per object can be released.
func (r *Reconciler) remember(name types.NamespacedName, uid types.UID) {
	r.uids.Store(name, uid)
}

// forget releases what this process keeps for an object that no longer exists: its reboot
// and change claims, its place in the shared poller, its backoff, full-pass and plan memory, its metric series,
// and its ECS rate budget unless another object shares it. Detachment has no undo, so nothing
// in ECS is touched.
func (r *Reconciler) forget(name types.NamespacedName) {
	r.poller.forget(name)
	if v, ok := r.uids.LoadAndDelete(name); ok {
		uid := v.(types.UID)
		r.ledger.forget(uid)
		r.claims.forget(uid)
		r.backoff.reset(uid)
		r.fullPasses.Delete(uid)
		r.forgetPlan(uid)
	}
	forgetObjectSeries(r.kind, name)
	r.releaseBudget(name)
}

// budgetReleaser is a factory that holds rate budgets per (identity, region) and can drop one.
type budgetReleaser interface {
	Release(regionID string, creds *ecs.Credentials)
}

// budgetKey is an ECS rate budget: a region and the access key of the object's Secret (empty:
// the manager's own identity). The key ID names an identity; no secret is kept.
type budgetKey struct{ region, accessKeyID string }

// rememberBudget notes which budget the object's calls draw from.
func (r *Reconciler) rememberBudget(name types.NamespacedName, region string, creds *ecs.Credentials) {
	k := budgetKey{region: region}
	if creds != nil {
		k.accessKeyID = creds.AccessKeyID
	}
	r.budgets.Store(objectKey{r.kind, name}, k)
}

// releaseBudget lets the factory drop the object's budget when no other object uses it.
func (r *Reconciler) releaseBudget(name types.NamespacedName) {
	v, ok := r.budgets.LoadAndDelete(objectKey{r.kind, name})
	if !ok {
		return
	}
	mine := v.(budgetKey)
	shared := false
	r.budgets.Range(func(_, other any) bool {
		shared = other.(budgetKey) == mine
		return !shared
	})
	releaser, ok := r.ECS.(budgetReleaser)
	if shared || !ok {
		return
	}
	var creds *ecs.Credentials
	if mine.accessKeyID != "" {
		creds = &ecs.Credentials{AccessKeyID: mine.accessKeyID}
	}
	releaser.Release(mine.region, creds)
}
