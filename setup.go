package main

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/keypairs-dev/ecs-keypair-operator/controllers"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// setupReconcilers wires the controllers into the manager and tells ready about the ECS client
// factory once it is built.
func setupReconcilers(mgr ctrl.Manager, o options, ready *readiness) error {
	factory, err := ecs.NewFactory(ecs.FactoryOptions{Endpoint: o.ecsEndpoint, QPS: o.ecsQPS, Burst: o.ecsBurst})
	if err != nil {
		return fmt.Errorf("--ecs-endpoint: %w", err)
	}
	identityNamespaces, err := managerIdentityNamespaces(o.managerIdentityNS, os.Getenv)
	if err != nil {
		return fmt.Errorf("--manager-identity-namespaces: %w", err)
	}
	ctrl.Log.WithName("setup").Info("ECS client ready", "identity", factory.Identity(),
		"managerIdentityNamespaces", identityNamespaces)
	ready.factoryBuilt(factory)
	return controllers.NewReconcilers(mgr, factory, controllers.Options{
		ResyncPeriod:              o.resyncPeriod,
		MaxConcurrentReconciles:   o.maxConcurrentReconciles,
		ManagerIdentityNamespaces: identityNamespaces,
		ECSQPS:                    o.ecsQPS,
	}).SetupWithManager(mgr)
}
