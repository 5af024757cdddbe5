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
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/controllers"
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
	metrics                 metricsOptions
	probeAddr               string
	managerIdentityNS       string
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
	flag.StringVar(&o.metrics.bindAddress, "metrics-bind-address", ":8443", "Address of the Prometheus metrics endpoint; 0 disables it.")
	flag.BoolVar(&o.metrics.secure, "metrics-secure", true, "Serve metrics over HTTPS to callers the API server authenticates "+
		"and authorizes (get on /metrics); false serves plain HTTP to anyone, only on a trusted network.")
	flag.StringVar(&o.metrics.certPath, "metrics-cert-path", "",
		"Directory of the metrics serving certificate, reloaded when it changes; empty means a self-signed one.")
	flag.StringVar(&o.metrics.certName, "metrics-cert-name", "tls.crt", "Certificate file in --metrics-cert-path.")
	flag.StringVar(&o.metrics.keyName, "metrics-cert-key", "tls.key", "Private key file in --metrics-cert-path.")
	flag.BoolVar(&o.metrics.enableHTTP2, "enable-http2", false,
		"Serve metrics over HTTP/2 as well; off because of the HTTP/2 Stream Cancellation and Rapid Reset CVEs.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes.")
	flag.StringVar(&o.managerIdentityNS, "manager-identity-namespaces", "",
		"Comma-separated namespaces whose objects may leave out spec.credentialsSecretRef and act with the manager's "+
			"own cloud identity. Empty: only the namespace the manager runs in (POD_NAMESPACE).")
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

	metricsOpts, err := o.metrics.serverOptions()
	if err != nil {
		log.Error(err, "Invalid metrics flags")
		os.Exit(1)
	}
	sc, err := resolveScope(o.scope, o.leaderElect, o.leaderElectionNamespace)
	if err != nil {
		log.Error(err, "Invalid flags")
		os.Exit(1)
	}
	sc.logMode(log)
	mgrOpts := ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cache.Options{DefaultTransform: controllers.CacheTransform()},
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.probeAddr,
	}
	sc.apply(&mgrOpts)
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), mgrOpts)
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	ready := newReadiness(mgr.GetCache())
	if err := setupReconcilers(mgr, o, ready); err != nil {
		log.Error(err, "Unable to set up the reconcilers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up the health check")
		os.Exit(1)
	}
	if err := ready.addTo(mgr); err != nil {
		log.Error(err, "Unable to set up the readiness checks")
		os.Exit(1)
	}
	log.Info("Starting the manager", "ecsEndpoint", o.ecsEndpoint, "resyncPeriod", o.resyncPeriod,
		"metricsBindAddress", o.metrics.bindAddress, "metricsSecure", o.metrics.secure)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}
