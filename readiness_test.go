package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// fakeCache is synced when told so; until then it waits for the context, as the real one does.
type fakeCache struct {
	mu     sync.Mutex
	synced bool
}

func (c *fakeCache) setSynced() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.synced = true
}

func (c *fakeCache) WaitForCacheSync(ctx context.Context) bool {
	c.mu.Lock()
	synced := c.synced
	c.mu.Unlock()
	if synced {
		return true
	}
	<-ctx.Done()
	return false
}

// checkRegistry collects checks as the manager does and serves them as its probe server does.
type checkRegistry map[string]healthz.Checker

func (r checkRegistry) AddReadyzCheck(name string, check healthz.Checker) error {
	r[name] = check
	return nil
}

func (r checkRegistry) get(t *testing.T) (int, string) {
	t.Helper()
	srv := http.StripPrefix("/readyz", &healthz.Handler{Checks: r})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
	return rec.Code, rec.Body.String()
}

func newTestFactory(t *testing.T) *ecs.Factory {
	t.Helper()
	f, err := ecs.NewFactory(ecs.FactoryOptions{QPS: 1, Burst: 1, Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadyzFailsUntilCacheSyncedAndFactoryBuilt(t *testing.T) {
	c := &fakeCache{}
	ready := newReadiness(c)
	checks := checkRegistry{}
	if err := ready.addTo(checks); err != nil {
		t.Fatal(err)
	}

	code, body := checks.get(t)
	if code != http.StatusInternalServerError {
		t.Fatalf("before sync and factory: status %d, want 500:\n%s", code, body)
	}
	for _, want := range []string{"[-]informer-cache failed", "[-]ecs-client-factory failed"} {
		if !strings.Contains(body, want) {
			t.Errorf("before sync and factory: body lacks %q:\n%s", want, body)
		}
	}

	ready.factoryBuilt(newTestFactory(t))
	code, body = checks.get(t)
	if code != http.StatusInternalServerError || !strings.Contains(body, "[-]informer-cache failed") ||
		!strings.Contains(body, "[+]ecs-client-factory ok") {
		t.Fatalf("factory built, cache not synced: status %d:\n%s", code, body)
	}

	c.setSynced()
	code, body = checks.get(t)
	if code != http.StatusOK {
		t.Fatalf("synced and built: status %d, want 200:\n%s", code, body)
	}
}

func TestReadyzFactoryAloneDoesNotMakeReady(t *testing.T) {
	c := &fakeCache{}
	c.setSynced()
	checks := checkRegistry{}
	if err := newReadiness(c).addTo(checks); err != nil {
		t.Fatal(err)
	}
	code, body := checks.get(t)
	if code != http.StatusInternalServerError || !strings.Contains(body, "[+]informer-cache ok") ||
		!strings.Contains(body, "[-]ecs-client-factory failed") {
		t.Fatalf("synced, no factory: status %d:\n%s", code, body)
	}
}

// The check relies on the real cache's behaviour: WaitForCacheSync waits for Start, then for
// every informer the cache holds. An API server that never answers a list keeps it unsynced.
func TestCacheSyncedWithRealCache(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(api.Close)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	c, err := cache.New(&rest.Config{Host: api.URL}, cache.Options{Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	ready := newReadiness(c)
	probe := func() error {
		return ready.cacheSynced(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	}

	if err := probe(); err == nil {
		t.Fatal("a cache that has not started reports synced")
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cache stopped with %v", err)
		}
	})
	// Start returns only when stopped, so "started" is observed through the check itself.
	deadline := time.Now().Add(30 * time.Second)
	for probe() != nil {
		if time.Now().After(deadline) {
			t.Fatal("a started cache without informers (a standby replica's) never reported synced")
		}
	}

	if _, err := c.GetInformer(ctx, &corev1.ConfigMap{}, cache.BlockUntilSynced(false)); err != nil {
		t.Fatal(err)
	}
	if err := probe(); err == nil {
		t.Fatal("a cache whose informer cannot list reports synced")
	}
}
