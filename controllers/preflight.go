package controllers

import (
	"cmp"
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// preflightResult is the object's PreflightPassed condition as this pass found it. blocks says
// that nothing may be changed: the change would never take effect (no permission to reboot,
// no balance), and a half-done rollout is worse than none.
type preflightResult struct {
	reason  string
	message string
	blocks  bool
}

func (p *preflightResult) passed() bool { return p.reason == ecsv1alpha1.ReasonPreflightOK }

// preflightBlocks reports whether this pass's pre-flight forbids any change.
func (run *run) preflightBlocks() bool { return run.preflightFound != nil && run.preflightFound.blocks }

// accessCheck is what a pass learned of the instances' other way in: whether the Cloud
// Assistant agent runs on each (true) or not (false); absent: not checked.
type accessCheck map[string]bool

// preflight checks, before anything is changed, what would make the change unsafe or
// pointless: every instance about to be changed is asked whether its Cloud Assistant agent
// runs (with spec.requireAlternateAccess those without one are left as they are), and, with reboot
// enabled, a RebootInstances dry run with AllTogether asks whether the reboots would be
// accepted (SuccessFirst answers DRYRUN.SUCCESS whatever would happen). An error is a call
// that should be retried; the pass then changes nothing.
func (run *run) preflight(ctx context.Context, cloud ecs.Client, carriers []*instance) error {
	if len(carriers) == 0 {
		return nil
	}
	if run.windowErr != nil && run.obj.Spec.Reboot.Enabled {
		run.refuse(ctx, &preflightResult{reason: ecsv1alpha1.ReasonRebootRefused, blocks: true, message: fmt.Sprintf(
			"spec.reboot.window cannot be read by this manager (%v): no reboot could start, so nothing is %s",
			run.windowErr, run.kind.past)})
		return nil
	}
	access, accessNote, err := run.checkAlternateAccess(ctx, cloud, carriers)
	if err != nil {
		return err
	}
	var without []string
	stopped := 0
	for _, i := range carriers {
		if !access[i.id()] {
			without = append(without, i.id())
			if i.observed.Status != ecs.StatusRunning {
				stopped++
			}
		}
	}
	if run.obj.Spec.RequireAlternateAccess {
		for _, id := range without {
			run.table.byID[id].setChange(metav1.ConditionFalse, ecsv1alpha1.ReasonNoAlternateAccess,
				fmt.Sprintf("No running Cloud Assistant agent%s: nobody may be able to log in after the %s; "+
					"its key is left as it is (spec.requireAlternateAccess)", accessNote, run.kind.verb))
		}
	}
	result := &preflightResult{reason: ecsv1alpha1.ReasonPreflightOK,
		message: fmt.Sprintf("%d instances to change: every one has a running Cloud Assistant agent", len(carriers))}
	if len(without) > 0 {
		result = &preflightResult{reason: ecsv1alpha1.ReasonNoAlternateAccess,
			message: run.noAccessMessage(len(carriers), without, stopped, accessNote)}
	}
	if run.obj.Spec.Reboot.Enabled {
		if refusal, err := run.rebootDryRun(ctx, cloud, carriers, access); err != nil {
			return err
		} else if refusal != nil {
			refusal.message += "; " + result.message
			result = refusal
		} else if result.passed() {
			result.message += "; the reboot dry run passed"
		}
	}
	run.refuse(ctx, result)
	return nil
}

// refuse records the pre-flight's result; one that blocks stops an Apply before any change.
func (run *run) refuse(ctx context.Context, result *preflightResult) {
	run.preflightFound = result
	if result.blocks && !run.planning() {
		ctrl.LoggerFrom(ctx).Info("Pre-flight check failed; nothing is changed", "reason", result.reason, "detail", result.message)
		run.problem = &objectProblem{Reason: ecsv1alpha1.ReasonPreflightFailed, Message: result.message}
	}
}

// noAccessMessage says which instances have no agent running; stopped ones are counted apart,
// since an agent reports only while its instance runs.
func (run *run) noAccessMessage(total int, without []string, stopped int, note string) string {
	action := fmt.Sprintf("they will be %s all the same: set spec.requireAlternateAccess to keep their key as it is", run.kind.past)
	if run.obj.Spec.RequireAlternateAccess {
		action = "they keep their key as it is (spec.requireAlternateAccess)"
	}
	if stopped > 0 {
		note += fmt.Sprintf("; %d of them are not Running, and an agent reports only while its instance runs", stopped)
	}
	return fmt.Sprintf("%d of %d instances to change have no running Cloud Assistant agent%s (%s); %s",
		len(without), total, note, abbreviate(without, 5), action)
}

// checkAlternateAccess asks ECS which carriers run the Cloud Assistant agent, in pages of
// ecs.MaxCloudAssistantIDs. A refusal that is not worth retrying (the region has no Cloud
// Assistant, no permission to ask) leaves every instance without a known way in, and note
// says why.
func (run *run) checkAlternateAccess(ctx context.Context, cloud ecs.Client, carriers []*instance) (accessCheck, string, error) {
	access := accessCheck{}
	if known := run.fromPlan; known != nil && known.access != nil {
		for _, i := range carriers {
			if running, ok := known.access[i.id()]; ok {
				access[i.id()] = running
			}
		}
		if len(access) == len(carriers) {
			return access, "", nil
		}
	}
	for _, batch := range chunks(carriers, ecs.MaxCloudAssistantIDs) {
		running, err := cloud.CloudAssistantStatus(ctx, ids(batch))
		if err != nil {
			if ecs.Classify(err) == ecs.ClassRetryable {
				return nil, "", err
			}
			return accessCheck{}, fmt.Sprintf(" (Cloud Assistant could not be checked: %s)", cmp.Or(ecs.ErrorCode(err), err.Error())), nil
		}
		for _, i := range batch {
			access[i.id()] = running[i.id()]
		}
	}
	run.accessFound = access
	return access, "", nil
}

// rebootDryRun asks ECS whether it would reboot the Running carriers that would keep no key,
// in calls of ecs.MaxRebootIDs. It returns the refusal, nil when every call passed.
func (run *run) rebootDryRun(ctx context.Context, cloud ecs.Client, carriers []*instance, access accessCheck) (*preflightResult, error) {
	if run.fromPlan != nil && run.fromPlan.dryRunPassed {
		return nil, nil
	}
	var candidates []*instance
	for _, i := range carriers {
		if i.observed.Status != ecs.StatusRunning || (run.obj.Spec.RequireAlternateAccess && !access[i.id()]) {
			continue
		}
		candidates = append(candidates, i)
	}
	for _, batch := range chunks(candidates, ecs.MaxRebootIDs) {
		err := cloud.RebootDryRun(ctx, ids(batch), run.obj.Spec.Reboot.ForceStop)
		if err == nil {
			continue
		}
		code, k := ecs.ErrorCode(err), run.kind
		switch {
		case ecs.IsPermissionDenied(err):
			return &preflightResult{reason: ecsv1alpha1.ReasonRebootNotPermitted, blocks: true, message: fmt.Sprintf(
				"The identity%s may not reboot the instances (RebootInstances dry run: %s); nothing is %s "+
					"until it may, since the %s would never take effect", run.credentialsSource(), code, k.past, k.verb)}, nil
		case code == ecs.CodeInsufficientBalance:
			return &preflightResult{reason: ecsv1alpha1.ReasonRebootRefused, blocks: true, message: fmt.Sprintf(
				"ECS would refuse every reboot (dry run: %s); nothing is %s until it would not", code, k.past)}, nil
		case ecs.Classify(err) == ecs.ClassRetryable:
			return nil, err
		default:
			return &preflightResult{reason: ecsv1alpha1.ReasonRebootRefused, message: fmt.Sprintf(
				"ECS would refuse a reboot of some of %s (dry run: %s); those instances will report it",
				abbreviate(ids(batch), 5), cmp.Or(code, err.Error()))}, nil
		}
	}
	run.dryRunPassed = true
	return nil, nil
}

// setPreflightCondition writes the pass's pre-flight result. A pass that checked nothing keeps
// the last result when it passed (a converged object's status stays as it is), and otherwise
// says that nothing is left to check once nothing carries the key.
func (run *run) setPreflightCondition(set func(t string, status metav1.ConditionStatus, reason, message string)) {
	previous := meta.FindStatusCondition(run.obj.Status.Conditions, ecsv1alpha1.ConditionPreflightPassed)
	switch p := run.preflightFound; {
	case p != nil && p.passed():
		set(ecsv1alpha1.ConditionPreflightPassed, metav1.ConditionTrue, p.reason, p.message)
	case p != nil:
		set(ecsv1alpha1.ConditionPreflightPassed, metav1.ConditionFalse, p.reason, p.message)
	case previous != nil && previous.Status == metav1.ConditionTrue:
	case run.fullPassObserved && run.carriersSeen == 0 && run.problem == nil:
		set(ecsv1alpha1.ConditionPreflightPassed, metav1.ConditionTrue, ecsv1alpha1.ReasonNothingToCheck,
			fmt.Sprintf("No instance is due for the %s of %s: nothing to check", run.kind.verb, run.obj.Spec.KeyPairName))
	}
}
