package bench

import (
	"context"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// statusWrites counts the writes to the trial's objects as the API server reports them: every
// write the manager makes (status, finalizers) is one Modified event of a watch. The spec is
// never changed during a trial, so these are the manager's writes.
type statusWrites struct {
	n    atomic.Int64
	stop func()
	done chan struct{}
}

// countWrites starts counting; call it before create.
func (t *trial) countWrites() *statusWrites {
	t.b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := t.cp.client.Watch(ctx, &ecsv1alpha1.KeyPairDetachmentList{}, client.InNamespace(t.ns))
	if err != nil {
		cancel()
		t.b.Fatalf("Watching the trial's objects: %v", err)
	}
	s := &statusWrites{done: make(chan struct{})}
	s.stop = func() { cancel(); w.Stop(); <-s.done }
	go func() {
		defer close(s.done)
		for e := range w.ResultChan() {
			if e.Type == watch.Modified {
				s.n.Add(1)
			}
		}
	}()
	t.b.Cleanup(func() { s.stop() })
	return s
}

// total stops counting and returns the count.
func (s *statusWrites) total() int {
	s.stop()
	s.stop = func() {}
	return int(s.n.Load())
}
