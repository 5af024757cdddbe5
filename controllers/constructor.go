package controllers

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// Options are the reconciler's knobs. Zero values take the defaults, so main, the demo and the
// tests differ only in what they set here.
type Options struct {
	// ResyncPeriod is how often a converged object is observed again (drift).
	ResyncPeriod time.Duration
	// RebootPollInterval is how often instances in flight are observed during a rollout.
	RebootPollInterval time.Duration
	// MaxConcurrentReconciles is the number of objects reconciled at once.
	MaxConcurrentReconciles int
	// Now is the clock; nil means time.Now. Tests run it ahead and behind ECS's.
	Now func() time.Time
	// ManagerIdentityNamespaces are the namespaces whose objects may leave out
	// spec.credentialsSecretRef and act with the manager's own cloud identity. Empty: none.
	ManagerIdentityNamespaces []string
	// ECSQPS is the client-side ECS budget the factory enforces (--ecs-qps), for the
	// estimates of plans; 0 means unlimited.
	ECSQPS float64
	// WrapClient lets tests see (or interfere with) every API server call.
	WrapClient func(client.Client) client.Client
}

// EventSource is the name events are recorded under.
const EventSource = "ecs-keypair-operator"

// Reconcilers are the manager's two controllers, one per kind, sharing what must be shared
// across kinds in one process (the reboot and claim ledgers, rate budgets, wake-ups).
type Reconcilers struct {
	Detachments *Reconciler
	Attachments *Reconciler
}

// NewReconcilers is the one way to build the reconcilers: main, the demo and the envtest
// stories all run what it returns, with the manager's clients and recorder.
func NewReconcilers(mgr ctrl.Manager, factory ecs.ClientFactory, o Options) Reconcilers {
	c := mgr.GetClient()
	if o.WrapClient != nil {
		c = o.WrapClient(c)
	}
	return newReconcilers(c, mgr.GetAPIReader(), mgr.GetEventRecorder(EventSource), factory, o)
}

// SetupWithManager registers both controllers.
func (rs Reconcilers) SetupWithManager(mgr ctrl.Manager) error {
	for _, r := range []*Reconciler{rs.Detachments, rs.Attachments} {
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}

// newReconcilers applies the defaults; unit tests call it with a fake API server.
func newReconcilers(c client.Client, apiReader client.Reader, recorder events.EventRecorder,
	factory ecs.ClientFactory, o Options) Reconcilers {
	sh := &shared{wakes: map[*kind]func(types.NamespacedName){}}
	return Reconcilers{
		Detachments: newReconciler(detachments, sh, c, apiReader, recorder, factory, o),
		Attachments: newReconciler(attachments, sh, c, apiReader, recorder, factory, o),
	}
}

func newReconciler(k *kind, sh *shared, c client.Client, apiReader client.Reader, recorder events.EventRecorder,
	factory ecs.ClientFactory, o Options) *Reconciler {
	if o.ResyncPeriod <= 0 {
		o.ResyncPeriod = DefaultResyncPeriod
	}
	if o.RebootPollInterval <= 0 {
		o.RebootPollInterval = DefaultRebootPollInterval
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = 1
	}
	r := &Reconciler{
		Client:                    c,
		APIReader:                 apiReader,
		Recorder:                  recorder,
		ECS:                       factory,
		ResyncPeriod:              o.ResyncPeriod,
		RebootPollInterval:        o.RebootPollInterval,
		MaxConcurrentReconciles:   o.MaxConcurrentReconciles,
		Now:                       o.Now,
		managerIdentityNamespaces: slices.Clone(o.ManagerIdentityNamespaces),
		kind:                      k,
		shared:                    sh,
		retry:                     defaultRetryPolicy,
		ecsQPS:                    o.ECSQPS,
		wakeups:                   make(chan event.TypedGenericEvent[client.Object], wakeupBuffer),
	}
	// An observation of instances in flight serves every object for one poll interval: the
	// object it wakes may run a second or two later on a busy manager, and with half an
	// interval it then often found the observation too old and made its own, doubling the
	// DescribeInstances of a 10 × 100 rollout on some runs. Settling still needs evidence from
	// ECS; an older observation can only delay it by one poll.
	r.poller = newRolloutPoller(o.RebootPollInterval, r.now, r.wake)
	sh.wakes[k] = r.wake
	return r
}

// shared is what the reconcilers of both kinds share in one process.
type shared struct {
	// ledger arbitrates reboots between objects that name the same instance.
	ledger rebootLedger
	// claims arbitrates, between kinds, which object acts on an instance (claims.go).
	claims claimLedger
	// budgets maps objects to the ECS rate budget (identity, region) each last used, so that
	// a budget no object of either kind uses any more is released.
	budgets sync.Map // objectKey → budgetKey
	// wakes enqueues an object of a kind; filled in by the constructor.
	wakes map[*kind]func(types.NamespacedName)
}

// objectKey names an object across kinds.
type objectKey struct {
	kind *kind
	name types.NamespacedName
}

// wakeupBuffer bounds the wake-ups waiting for the controller; when it is full a wake-up is
// dropped, and the object's own poll (RequeueAfter) still comes.
const wakeupBuffer = 1024

// wake enqueues an object whose instances changed in another object's observation.
func (r *Reconciler) wake(name types.NamespacedName) {
	obj := r.kind.newObject()
	obj.SetNamespace(name.Namespace)
	obj.SetName(name.Name)
	select {
	case r.wakeups <- event.TypedGenericEvent[client.Object]{Object: obj}:
	default:
	}
}
