package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// Defaults for the reconciler's timing knobs; the manager may override them and tests do.
const (
	DefaultResyncPeriod       = 10 * time.Minute
	DefaultRebootPollInterval = 5 * time.Second
	// conflictRetry is how soon a reconcile that lost an optimistic-lock race runs again.
	conflictRetry = 200 * time.Millisecond
	// statusWriteTimeout bounds a status write that outlives its reconcile's context.
	statusWriteTimeout = 10 * time.Second
)

// Reconciler drives each object of one kind (kinds.go) through the phases of design.md §3.
// Build both with NewReconcilers.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets directly: they are fetched with get only, never listed or cached.
	APIReader client.Reader
	Recorder  events.EventRecorder
	ECS       ecs.ClientFactory

	// ResyncPeriod is how often a converged object is observed again (drift).
	ResyncPeriod time.Duration
	// RebootPollInterval is how often instances in flight are observed during a rollout.
	RebootPollInterval time.Duration
	// MaxConcurrentReconciles is the number of objects reconciled at once.
	MaxConcurrentReconciles int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// fullPasses remembers, per object, the generation and time of the last complete
	// observation, so that reboot polls observe only the instances in flight. Lost on restart,
	// which only costs one extra observation.
	fullPasses sync.Map // types.UID → fullPass
	// uids maps names to the UIDs they stand for, to release per-object memory once an object
	// is gone (forget.go).
	uids sync.Map // types.NamespacedName → types.UID
	// managerIdentityNamespaces are the namespaces whose objects may act without a Secret.
	managerIdentityNamespaces []string
	// kind is what this reconciler's objects are.
	kind *kind
	// shared is what the reconcilers of both kinds share in the process: the reboot and claim
	// ledgers, the rate budgets in use, and how to wake an object of either kind.
	*shared
	// plans keeps each object's latest plan for the Apply that follows it (plan.go).
	plans sync.Map // types.UID → *planMemory
	// rebootDurations is the moving mean of reboot durations seen per region, for plans.
	rebootDurations sync.Map // region → time.Duration
	// ecsQPS is the client-side ECS budget (--ecs-qps), for plans' estimates; 0: unlimited.
	ecsQPS float64
	// retry bounds the in-pass retries of refused ECS calls.
	retry retryPolicy
	// backoff paces the passes of objects whose last pass ended on a cloud error.
	backoff passBackoff
	// poller shares rollout observations per (identity, region); wakeups is how it enqueues
	// objects whose instances changed.
	poller  *rolloutPoller
	wakeups chan event.TypedGenericEvent[client.Object]
}

type fullPass struct {
	generation int64
	at         time.Time
	// keyPairFound: this pass saw the key pair exist, so passes until the next full one need
	// not ask ECS again.
	keyPairFound bool
}

// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairdetachments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairdetachments/finalizers,verbs=update
// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairdetachments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairattachments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairattachments/finalizers,verbs=update
// +kubebuilder:rbac:groups=ecs.keypairs.dev,resources=keypairattachments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs one pass: load, credentials, observe, detach, reboot, summarize, write.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	typed := r.kind.newObject()
	if err := r.Get(ctx, req.NamespacedName, typed); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	obj := r.kind.view(typed, nil)
	r.remember(req.NamespacedName, obj.GetUID())
	run := newRun(r, obj)
	result, err := run.phases(ctx)
	if errors.Is(err, errConflict) {
		ctrl.LoggerFrom(ctx).V(1).Info("Status changed under us; trying again with a fresh read")
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if !run.backedOff {
		r.backoff.reset(obj.GetUID())
	}
	if run.gone {
		r.forget(req.NamespacedName)
		return result, err
	}
	if werr := run.persist(ctx); werr != nil {
		if errors.Is(werr, errConflict) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, werr
	}
	run.emitSummaryEvents()
	run.wakeHolders()
	return result, err
}

// errConflict means the object changed since it was read: whatever was decided is stale.
var errConflict = errors.New("the object changed since it was read")

// persist writes the status with the resourceVersion that was read, so that a stale read never
// overwrites newer markers. Unchanged statuses are not written.
func (run *run) persist(ctx context.Context) error {
	run.summarize()
	if run.statusUnchanged() {
		return nil
	}
	// Not cut short by the manager stopping: a marker that a stop leaves behind turns a refused
	// or settled request into an unknown one.
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
	defer cancel()
	run.obj.flush()
	if err := run.r.Status().Update(writeCtx, run.obj.Object); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errConflict
		}
		return fmt.Errorf("writing the status of %s %s: %w", run.kind.name, run.name(), err)
	}
	run.written = run.obj.Status.DeepCopy()
	return nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// beginFullPass says whether this reconcile must observe every instance (the first pass of
// this process or of a new generation, and once per resync period) and, if so, records it as
// begun: a full pass that fails half-way is not repeated, the unsettled instances are.
func (r *Reconciler) beginFullPass(obj *subject) bool {
	if v, ok := r.fullPasses.Load(obj.GetUID()); ok {
		last := v.(fullPass)
		if last.generation == obj.GetGeneration() && r.now().Sub(last.at) < r.ResyncPeriod {
			return false
		}
	}
	r.fullPasses.Store(obj.GetUID(), fullPass{generation: obj.GetGeneration(), at: r.now()})
	return true
}

// keyPairKnownToExist reports whether the current full pass already saw the key pair exist.
func (r *Reconciler) keyPairKnownToExist(obj *subject) bool {
	v, ok := r.fullPasses.Load(obj.GetUID())
	return ok && v.(fullPass).generation == obj.GetGeneration() && v.(fullPass).keyPairFound
}

// recordKeyPairFound remembers, until the next full pass, that the key pair exists.
func (r *Reconciler) recordKeyPairFound(obj *subject) {
	if v, ok := r.fullPasses.Load(obj.GetUID()); ok && v.(fullPass).generation == obj.GetGeneration() {
		last := v.(fullPass)
		last.keyPairFound = true
		r.fullPasses.Store(obj.GetUID(), last)
	}
}

// resyncAfter spreads resyncs of many objects over time instead of observing all at once.
func (r *Reconciler) resyncAfter() time.Duration {
	return r.ResyncPeriod + time.Duration(rand.Int64N(int64(r.ResyncPeriod)/10+1))
}

// SetupWithManager registers the controller. Status writes do not trigger reconciles (the
// generation predicate): waits are explicit RequeueAfter, so each poll costs what it needs.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), r.kind.newObject(),
		regionIndex, indexRegion); err != nil {
		return fmt.Errorf("indexing %ss by region: %w", r.kind.name, err)
	}
	deletion := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp() == nil && e.ObjectNew.GetDeletionTimestamp() != nil
	}}
	changes := predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, deletion)
	return ctrl.NewControllerManagedBy(mgr).
		For(r.kind.newObject(), builder.WithPredicates(changes)).
		WatchesRawSource(source.Channel(r.wakeups, &handler.TypedEnqueueRequestForObject[client.Object]{})).
		Named(r.kind.controller).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.MaxConcurrentReconciles,
			RateLimiter:             newJitteredBackoff(500*time.Millisecond, time.Minute),
		}).
		Complete(r)
}

// jitteredBackoff is the workqueue's per-item exponential backoff, capped (credentials errors
// must be retried within a minute of a fix) and jittered (throttled objects must not retry in
// lockstep against the shared ECS budget).
type jitteredBackoff struct {
	workqueue.TypedRateLimiter[reconcile.Request]
}

func newJitteredBackoff(base, maxDelay time.Duration) workqueue.TypedRateLimiter[reconcile.Request] {
	return jitteredBackoff{workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](base, maxDelay)}
}

func (b jitteredBackoff) When(item reconcile.Request) time.Duration {
	d := b.TypedRateLimiter.When(item)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
