package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// cacheSyncWait bounds one readiness check's wait for the informers: well inside the kubelet's
// default probe timeout (1s), so a slow sync answers "not ready" instead of timing the probe out.
const cacheSyncWait = 500 * time.Millisecond

// cacheSyncer is the part of the manager's cache that readiness looks at.
type cacheSyncer interface {
	WaitForCacheSync(ctx context.Context) bool
}

// readiness is what /readyz reports: not ready until the informer cache has synced and the ECS
// client factory exists. healthz stays a ping: a manager waiting for either is not broken.
type readiness struct {
	cache   cacheSyncer
	factory atomic.Pointer[ecs.Factory]
}

func newReadiness(cache cacheSyncer) *readiness {
	return &readiness{cache: cache}
}

// factoryBuilt records the factory setupReconcilers built without error.
func (r *readiness) factoryBuilt(f *ecs.Factory) {
	r.factory.Store(f)
}

// readyzRegistry is the part of the manager that takes readiness checks.
type readyzRegistry interface {
	AddReadyzCheck(name string, check healthz.Checker) error
}

// addTo registers one check per condition, so /readyz?verbose names the one that fails.
func (r *readiness) addTo(mgr readyzRegistry) error {
	if err := mgr.AddReadyzCheck("informer-cache", r.cacheSynced); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("ecs-client-factory", r.factoryReady)
}

// cacheSynced fails until the cache has started and every informer in it has synced. A standby
// replica (leader election) holds no informers yet, so it is ready once its cache has started;
// the leader's informers join when its controllers start, and readiness waits for them.
func (r *readiness) cacheSynced(req *http.Request) error {
	ctx, cancel := context.WithTimeout(req.Context(), cacheSyncWait)
	defer cancel()
	if !r.cache.WaitForCacheSync(ctx) {
		return errors.New("the informer cache has not synced yet")
	}
	return nil
}

// factoryReady passes once the factory exists. Construction is all there is to be ready about:
// NewFactory fails only on an invalid --ecs-endpoint and dials nothing, and the manager's own
// identity is deliberately left out, because a missing or broken one is reported per object
// (objects that bring a credentials Secret keep working).
func (r *readiness) factoryReady(_ *http.Request) error {
	if r.factory.Load() == nil {
		return errors.New("the ECS client factory has not been built")
	}
	return nil
}
