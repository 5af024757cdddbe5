package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/window"
)

// run is one reconcile of one object: the object as read, its instances, and what this pass
// decided at object level.
type run struct {
	r     *Reconciler
	kind  *kind
	obj   *subject
	table *instanceTable
	now   time.Time

	// problem is an object-level condition that stops progress (credentials, missing key pair).
	problem *objectProblem
	// unsettledAtStart counts the instances awaiting their change outcome when the pass began.
	unsettledAtStart int
	// before is the object's conditions as read, for events about transitions; written is the
	// last status this run wrote (or read), to skip writes that change nothing.
	before  []metav1.Condition
	written *ecsv1alpha1.KeyPairDetachmentStatus
	// peers is what other objects naming the same instances say about them.
	peers peerView
	// gone: the finalizer was removed from a deleted object; there is no status to write.
	gone bool
	// scope is the (identity, region) whose ECS budget and rollout polls this object shares.
	scope string
	// creds are the object's credentials (nil: the manager's identity), for further clients.
	creds *ecs.Credentials
	// backedOff: the pass ended on a cloud error and its requeue grew the object's backoff.
	backedOff bool
	// wakeAfterWrite are objects of the other kind to wake once this pass's status is written.
	wakeAfterWrite []holder

	// window is spec.reboot.window (nil: always open); windowErr says it cannot be read.
	window    *window.Window
	windowErr error
	// fromPlan is the plan this Apply proceeds from (plan.go); nil when it observes afresh.
	fromPlan *planMemory
	// preflightFound is this pass's pre-flight result; nil when it checked nothing.
	preflightFound *preflightResult
	// accessFound and dryRunPassed are the pre-flight's findings, for a plan to keep.
	accessFound  accessCheck
	dryRunPassed bool
	// fullPassObserved: this pass observed every instance; carriersSeen counts those the
	// change was due for then.
	fullPassObserved bool
	carriersSeen     int
}

// objectProblem is why an object cannot progress; Reason is a Ready=False reason.
type objectProblem struct {
	Reason  string
	Message string
}

func newRun(r *Reconciler, obj *subject) *run {
	run := &run{
		r: r, kind: obj.kind, obj: obj, table: newInstanceTable(obj), now: r.now(),
		before: slices.Clone(obj.Status.Conditions), written: obj.Status.DeepCopy(),
	}
	if !run.planning() {
		run.table.forgetPlanMarks()
	}
	// The API server validates the window as Parse reads it, but its zone data may know a zone
	// this manager's does not: then no reboot starts (preflight.go says why).
	run.window, run.windowErr = window.Parse(obj.Spec.Reboot.Window)
	run.unsettledAtStart = len(run.table.where(unsettled))
	return run
}

func (run *run) statusUnchanged() bool {
	return equality.Semantic.DeepEqual(run.written, run.obj.Status)
}

// phases runs the reconcile of design.md §3 up to (not including) the final status write.
func (run *run) phases(ctx context.Context) (ctrl.Result, error) {
	if run.obj.Spec.Suspend && run.obj.GetDeletionTimestamp() != nil {
		return run.finishDeletion(ctx) // suspended: no ECS call, not even to settle reboots
	}
	if run.obj.Spec.Suspend {
		run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonSuspended, Message: "spec.suspend is set: no ECS call is made"}
		return ctrl.Result{}, nil
	}
	creds, problem, err := run.r.credentials(ctx, run.obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if creds == nil && problem == nil && !run.r.managerIdentityAllowed(run.obj.GetNamespace()) {
		if run.obj.GetDeletionTimestamp() != nil {
			return run.finishDeletion(ctx) // nothing of the manager's identity may settle it
		}
		return run.managerIdentityNotAllowed(ctx)
	}
	if problem != nil {
		return run.credentialsProblem(ctx, problem.Message)
	}
	cloud, err := run.r.ECS.ForRegion(ctx, run.obj.Spec.RegionID, creds)
	if err != nil {
		return run.cloudError(ctx, err)
	}
	cloud = withRetries(cloud, run.r.retry)
	run.scope = scopeOf(run.obj.Spec.RegionID, creds)
	run.creds = creds
	run.r.rememberBudget(run.key(), run.obj.Spec.RegionID, creds)
	if err := run.loadPeers(ctx); err != nil {
		return ctrl.Result{}, err
	}

	if stop, result, err := run.observeAndChange(ctx, cloud); stop {
		return result, err
	}
	run.noteContests()
	run.decideDuties()
	if err := run.observeRollout(ctx, cloud); err != nil {
		return run.cloudError(ctx, err)
	}
	if err := run.reboot(ctx, cloud); err != nil {
		return run.cloudError(ctx, err)
	}
	if run.obj.GetDeletionTimestamp() != nil {
		return run.finishDeletion(ctx)
	}
	if err := run.releaseFinalizerWhenDone(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return run.nextPass(ctx), nil
}

// nextPass is when a pass that ended without an error runs again: soon while detaches wait for
// a retry, at the next poll while a rollout moves, otherwise at the resync (or the window's
// opening).
func (run *run) nextPass(ctx context.Context) ctrl.Result {
	if run.planning() {
		run.writePlan()
		if run.rolloutActive() {
			return ctrl.Result{RequeueAfter: run.r.RebootPollInterval} // reboots from before the plan settle
		}
		run.r.poller.leave(run.scope, run.key())
		return ctrl.Result{RequeueAfter: run.r.resyncAfter()}
	}
	if run.changeUnsettled() {
		// Retryable per-instance answers: the object's capped backoff paces the retry.
		ctrl.LoggerFrom(ctx).Info("Some changes got a retryable answer; retrying with backoff", "change", run.kind.verb)
		return run.backOff()
	}
	if run.rolloutActive() {
		return ctrl.Result{RequeueAfter: run.r.RebootPollInterval}
	}
	run.r.poller.leave(run.scope, run.key())
	return ctrl.Result{RequeueAfter: run.idleRequeue()}
}

// observeAndChange observes and makes the kind's change; stop says the pass ends here with result and err.
// A full pass observes every instance; between full passes only the unsettled ones (new, or
// left by a failed call) are observed, so a pass that fails half-way keeps what it settled and
// the next one goes on from there. A deleted object starts nothing new.
func (run *run) observeAndChange(ctx context.Context, cloud ecs.Client) (stop bool, result ctrl.Result, err error) {
	targets := run.table.ordered
	switch {
	case !run.r.beginFullPass(run.obj):
		targets = run.table.where(unsettled)
	case run.planning():
		run.r.forgetPlan(run.obj.GetUID())
		run.fullPassObserved = true
		run.retainClaims()
	default:
		if run.fromPlan = run.r.adoptPlan(run.obj); run.fromPlan != nil {
			targets = run.table.where(unsettled)
		} else {
			run.fullPassObserved = true
		}
		run.retainClaims()
	}
	if run.obj.GetDeletionTimestamp() != nil || len(targets) == 0 {
		return false, ctrl.Result{}, nil
	}
	proceed, err := run.observe(ctx, cloud, targets)
	if err == nil && !proceed {
		if run.problem != nil && run.problem.Reason == ecsv1alpha1.ReasonCredentialsError {
			result, err = run.credentialsProblem(ctx, run.problem.Message)
			return true, result, err
		}
		return true, ctrl.Result{RequeueAfter: run.r.resyncAfter()}, nil
	}
	// The pre-flight covers the instances observed before a failed page too: they are
	// changed all the same.
	carriers := run.table.where(changeDue)
	run.carriersSeen = len(carriers)
	if perr := run.preflight(ctx, cloud, carriers); perr != nil {
		result, err = run.cloudError(ctx, perr)
		return true, result, err
	}
	switch {
	case run.planning():
		run.markWouldChange(carriers)
		if err == nil && run.fullPassObserved {
			run.rememberPlan(carriers)
		}
	case run.preflightBlocks(): // nothing is changed, and the pre-flight is asked again soon
		return true, run.backOff(), nil
	default:
		if derr := run.change(ctx, cloud); err == nil {
			err = derr
		}
	}
	if err != nil {
		result, err = run.cloudError(ctx, err)
		return true, result, err
	}
	return false, ctrl.Result{}, nil
}

// cloudError turns an ECS error into the object's condition and the reconcile's result:
// credentials and missing key pairs are conditions with a capped backoff; the rest is
// retried by the workqueue's backoff with nothing marked failed.
func (run *run) cloudError(ctx context.Context, err error) (ctrl.Result, error) {
	if errors.Is(err, errConflict) {
		return ctrl.Result{}, err
	}
	switch ecs.Classify(err) {
	case ecs.ClassCredentials:
		return run.credentialsProblem(ctx, fmt.Sprintf("ECS rejected the credentials%s: %v", run.credentialsSource(), err))
	case ecs.ClassObjectTerminal:
		run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonKeyPairNotFound,
			Message: fmt.Sprintf("ECS refused the request: %v", err)}
		return ctrl.Result{RequeueAfter: run.r.resyncAfter()}, nil
	default:
		if run.unsettledAtStart > len(run.table.where(unsettled)) {
			// This pass settled instances before it failed: retry soon rather than letting the
			// backoff grow, which is meant for passes that achieve nothing.
			ctrl.LoggerFrom(ctx).Info("ECS call failed after progress; retrying soon", "code", ecs.ErrorCode(err), "error", err.Error())
			return ctrl.Result{RequeueAfter: progressRetry/2 + time.Duration(rand.Int64N(int64(progressRetry)))}, nil
		}
		if code := ecs.ErrorCode(err); code != "" && !ecs.IsKnownCode(code) {
			// Nobody reads logs in time: a code the operator cannot classify is shown on the
			// object while it is retried.
			run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonInProgress, Message: fmt.Sprintf(
				"ECS answers with a code the operator does not know (%s): %v; retrying at most %s apart", code, err, backoffCap)}
		}
		result := run.backOff()
		ctrl.LoggerFrom(ctx).Info("ECS call failed; retrying with backoff", "code", ecs.ErrorCode(err), "error", err.Error(),
			"after", result.RequeueAfter.String())
		return result, nil
	}
}

// credentialsProblem records a credentials error. The reconcile returns an error so that the
// workqueue backs off (capped at a minute): Secrets are not watched, a fix is picked up by the
// next retry.
func (run *run) credentialsProblem(ctx context.Context, message string) (ctrl.Result, error) {
	run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonCredentialsError, Message: message}
	ctrl.LoggerFrom(ctx).Info("Credentials problem; retrying with backoff", "reason", message)
	return ctrl.Result{}, errors.New(message)
}

func (run *run) credentialsSource() string {
	if ref := run.obj.Spec.CredentialsSecretRef; ref != nil {
		return fmt.Sprintf(" of Secret %s/%s", run.obj.GetNamespace(), ref.Name)
	}
	return " of the manager's own identity"
}

// progressRetry is the mean delay before retrying a pass that failed after making progress.
const progressRetry = time.Second

// changeDue reports whether this pass observed the instance as the kind's change wants it
// (kinds.go) and would change it: Linux, unlocked, not held by an object of the other kind,
// and not held back by the pre-flight.
func changeDue(i *instance) bool {
	return i.observed != nil && i.found && i.want == wantChange && i.changeReason() == ecsv1alpha1.ReasonPending
}

// unsettled reports whether an instance still waits for its change outcome.
func unsettled(i *instance) bool {
	r := i.changeReason()
	return r == ecsv1alpha1.ReasonPending || r == i.kind.changing || r == i.kind.would
}

// changeUnsettled reports whether some instance still waits for its change outcome.
func (run *run) changeUnsettled() bool {
	return len(run.table.where(unsettled)) > 0
}
