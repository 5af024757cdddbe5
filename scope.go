package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

const (
	// leaderElectionID is the Lease that replicas of one scoped installation share, in the
	// installation's own namespace.
	leaderElectionID = "ecs-keypair-operator.keypairs.dev"
	// clusterLeaseID is the Lease that every unscoped installation contends for, whatever
	// namespace it runs in: two Helm releases with their own Leases would otherwise both
	// reboot the same instances.
	clusterLeaseID = "ecs-keypair-operator-cluster.keypairs.dev"
)

// scopeFlags decide which objects this installation acts on.
type scopeFlags struct {
	watchNamespaces       string
	clusterLeaseNamespace string
}

func (f *scopeFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces whose KeyPairDetachments this installation acts on; objects elsewhere are never seen. "+
			"Empty means every namespace, and then the installation acts only while it holds the cluster-wide Lease.")
	fs.StringVar(&f.clusterLeaseNamespace, "cluster-lease-namespace", "kube-system",
		"Namespace of the cluster-wide Lease that every installation without --watch-namespaces contends for.")
}

// scope is how this installation makes sure it is the only one acting on its objects.
type scope struct {
	// namespaces is sorted; empty means every namespace.
	namespaces []string
	// leaderElect, leaseNamespace and leaseName are the manager's leader-election settings.
	leaderElect    bool
	leaseNamespace string
	leaseName      string
}

// resolveScope turns the flags into a scope. Unscoped, leader election is always on and uses the
// cluster-wide Lease: --leader-elect and --leader-election-namespace only apply to scoped
// installations, whose Leases live in their own namespaces.
func resolveScope(f scopeFlags, leaderElect bool, leaderElectionNamespace string) (scope, error) {
	namespaces, err := parseNamespaceList(f.watchNamespaces)
	if err != nil {
		return scope{}, fmt.Errorf("--watch-namespaces: %w", err)
	}
	if len(namespaces) > 0 {
		return scope{
			namespaces:     namespaces,
			leaderElect:    leaderElect,
			leaseNamespace: leaderElectionNamespace,
			leaseName:      leaderElectionID,
		}, nil
	}
	if err := validateNamespace(f.clusterLeaseNamespace); err != nil {
		return scope{}, fmt.Errorf("--cluster-lease-namespace: %w", err)
	}
	return scope{leaderElect: true, leaseNamespace: f.clusterLeaseNamespace, leaseName: clusterLeaseID}, nil
}

// parseNamespaceList reads a comma-separated list of namespace names (--watch-namespaces,
// --manager-identity-namespaces). A blank value is an empty list; a blank entry within a list is refused, as it is most likely a typo that
// would otherwise silently narrow or widen what the installation acts on.
func parseNamespaceList(value string) ([]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var out []string
	for i, entry := range strings.Split(value, ",") {
		name := strings.TrimSpace(entry)
		if name == "" {
			return nil, fmt.Errorf("entry %d of %q is empty", i+1, value)
		}
		if err := validateNamespace(name); err != nil {
			return nil, err
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("namespace %q is listed twice", name)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

func validateNamespace(name string) error {
	if name == "" {
		return errors.New("a namespace name is required")
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid namespace name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

// apply sets the cache's namespaces and the leader election in the manager's options, leaving
// every other cache setting as the caller made it.
func (s scope) apply(o *ctrl.Options) {
	if len(s.namespaces) > 0 {
		o.Cache.DefaultNamespaces = make(map[string]cache.Config, len(s.namespaces))
		for _, ns := range s.namespaces {
			o.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	o.LeaderElection = s.leaderElect
	o.LeaderElectionID = s.leaseName
	o.LeaderElectionNamespace = s.leaseNamespace
	// A stopped manager hands the Lease over at once instead of making its successor (the next
	// Pod of a rolling update) wait out the lease duration. Safe because main exits as soon
	// as the manager has stopped, after its reconciles have finished.
	o.LeaderElectionReleaseOnCancel = s.leaderElect
}

// logMode says at start which mode the manager runs in, so that an operator reading the logs
// of a standby replica knows what it waits for.
func (s scope) logMode(log logr.Logger) {
	if len(s.namespaces) > 0 {
		kv := []any{"namespaces", s.namespaces, "leaderElection", s.leaderElect}
		if s.leaderElect {
			kv = append(kv, "lease", s.leaseRef())
		}
		log.Info("Scoped to namespaces", kv...)
		return
	}
	log.Info("Unscoped: acting only while holding the cluster-wide Lease", "lease", s.leaseRef())
	log.Info("Leader election is always on without --watch-namespaces; --leader-elect and --leader-election-namespace have no effect")
}

func (s scope) leaseRef() string {
	if s.leaseNamespace == "" {
		return "(the Pod's namespace)/" + s.leaseName
	}
	return s.leaseNamespace + "/" + s.leaseName
}
