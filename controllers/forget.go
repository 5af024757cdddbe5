package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// remember notes which UID a name stands for, so that when the object is gone (and only its
// name is left) everything kept per object can be released.
func (r *KeyPairDetachmentReconciler) remember(name types.NamespacedName, uid types.UID) {
	r.uids.Store(name, uid)
}

// forget releases what this process keeps for an object that no longer exists: its reboot
// claims, its place in the shared poller, its backoff and full-pass memory, and its metric
// series. Detachment has no undo, so nothing in ECS is touched.
func (r *KeyPairDetachmentReconciler) forget(name types.NamespacedName) {
	r.ledger.forget(name.String())
	r.poller.forget(name)
	if v, ok := r.uids.LoadAndDelete(name); ok {
		uid := v.(types.UID)
		r.backoff.reset(uid)
		r.fullPasses.Delete(uid)
	}
	instancesByOutcome.DeletePartialMatch(prometheus.Labels{"namespace": name.Namespace, "name": name.Name})
}
