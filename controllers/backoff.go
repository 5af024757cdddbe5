package controllers

import (
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// Requeue backoff of an object whose pass ended on a cloud error (after the in-pass retries):
// exponential from backoffBase, capped at backoffCap so that a streak of throttled passes never
// parks an object for minutes. Credentials errors go through the workqueue's own backoff,
// capped at a minute: they need a person, not a faster retry.
const (
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
)

// passBackoff counts, per object, the passes in a row that ended on a cloud error. It lives in
// memory: a restart starts from the base delay, which costs at most one early retry.
type passBackoff struct {
	failures sync.Map // types.UID → int
}

// next returns the jittered delay after one more failed pass of uid.
func (b *passBackoff) next(uid types.UID) time.Duration {
	n := 0
	if v, ok := b.failures.Load(uid); ok {
		n = v.(int)
	}
	b.failures.Store(uid, n+1)
	d := backoffCap
	if n < 5 {
		d = min(backoffCap, backoffBase<<n)
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (b *passBackoff) reset(uid types.UID) { b.failures.Delete(uid) }

// backOff is the result of a pass that ended on a cloud error.
func (run *run) backOff() ctrl.Result {
	run.backedOff = true
	return ctrl.Result{RequeueAfter: run.r.backoff.next(run.obj.GetUID())}
}

// scopeOf names the (identity, region) an object's calls are made as: its Secret's access key,
// or the manager's own identity.
func scopeOf(region string, creds *ecs.Credentials) string {
	if creds == nil {
		return region + "/manager"
	}
	return region + "/ak:" + creds.AccessKeyID
}

// key is the object's name, as the poller and the workqueue know it.
func (run *run) key() types.NamespacedName {
	return types.NamespacedName{Namespace: run.obj.GetNamespace(), Name: run.obj.GetName()}
}
