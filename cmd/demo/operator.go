package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/controllers"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// newScheme knows the built-in types and KeyPairDetachment.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := ecsv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// operatorOptions shape the in-process operator; the defaults are the manager's own.
type operatorOptions struct {
	endpoint     string
	account      ecsemu.Account
	qps          float64
	burst        int
	pollInterval time.Duration
}

// operator is the manager, with the real reconciler and the real ECS client factory, running
// until stop is called.
type operator struct {
	cancel context.CancelFunc
	done   chan error
}

// startOperator wires the manager as main.go does, except that the manager's own identity is
// the emulator's demo account (never the process environment), metrics and probes are off, and
// reboots are polled every pollInterval so the demo moves at a watchable pace.
func startOperator(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, o operatorOptions) (*operator, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultTransform: controllers.CacheTransform()},
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("create the manager: %w", err)
	}
	const callTimeout = 10 * time.Second
	env := map[string]string{ecs.EnvAccessKeyID: o.account.AccessKeyID, ecs.EnvAccessKeySecret: o.account.AccessKeySecret}
	factory, err := ecs.NewFactory(ecs.FactoryOptions{
		Endpoint: o.endpoint, QPS: o.qps, Burst: o.burst, CallTimeout: callTimeout,
		Env: func(name string) string { return env[name] },
	})
	if err != nil {
		return nil, fmt.Errorf("create the ECS client factory: %w", err)
	}
	r := controllers.NewReconcilers(mgr, factory, controllers.Options{
		RebootPollInterval:      o.pollInterval,
		MaxConcurrentReconciles: 4,
		// The demo's objects act with the emulator account it gives the manager.
		ManagerIdentityNamespaces: []string{demoNamespace},
		ECSQPS:                    o.qps,
	})
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up the reconcilers: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	op := &operator{cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	return op, nil
}

// stop stops the manager and waits for its workers to finish.
func (op *operator) stop() error {
	op.cancel()
	if err := <-op.done; err != nil {
		return fmt.Errorf("the manager stopped with an error: %w", err)
	}
	return nil
}
