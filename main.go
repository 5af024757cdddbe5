// Command ecs-keypair-operator runs the manager: flags, scheme and wiring, nothing else.
package main

import (
	"flag"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(ecsv1alpha1.AddToScheme(scheme))
}

// options are the manager's flags; their names are part of the API contract (design.md §2).
type options struct {
	ecsEndpoint             string
	ecsQPS                  float64
	ecsBurst                int
	maxConcurrentReconciles int
	resyncPeriod            time.Duration
	leaderElect             bool
	leaderElectionNamespace string
	metricsAddr             string
	probeAddr               string
	scope                   scopeFlags
}

func parseFlags() (options, zap.Options) {
	var o options
	flag.StringVar(&o.ecsEndpoint, "ecs-endpoint", "",
		"URL (such as http://127.0.0.1:8443) that replaces the regional ECS endpoints for every call; for emulators and private endpoints.")
	flag.Float64Var(&o.ecsQPS, "ecs-qps", 10, "Client-side ECS calls per second, shared by all objects of one account and region.")
	flag.IntVar(&o.ecsBurst, "ecs-burst", 20, "Client-side ECS burst, shared by all objects of one account and region.")
	flag.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "KeyPairDetachments reconciled at once.")
	flag.DurationVar(&o.resyncPeriod, "resync-period", 10*time.Minute,
		"How often a converged object is observed again, so a key re-attached by someone else is detached again.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader so that only one manager replica works at a time; with --watch-namespaces only (unscoped, it is always on).")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader-election Lease with --watch-namespaces; empty means the Pod's own namespace (required outside a cluster).")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes.")
	o.scope.bind(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	return o, zapOpts
}

func main() {
	o, zapOpts := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	sc, err := resolveScope(o.scope, o.leaderElect, o.leaderElectionNamespace)
	if err != nil {
		log.Error(err, "Invalid flags")
		os.Exit(1)
	}
	sc.logMode(log)
	mgrOpts := ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
	}
	sc.apply(&mgrOpts)
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), mgrOpts)
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	if err := setupReconcilers(mgr, o); err != nil {
		log.Error(err, "Unable to set up the reconcilers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the readiness check")
		os.Exit(1)
	}
	log.Info("Starting the manager", "ecsEndpoint", o.ecsEndpoint, "resyncPeriod", o.resyncPeriod)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}
