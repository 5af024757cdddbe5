package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// planMemory is what the latest plan of an object saw. Switching the object to Apply within a
// resync period, with nothing else in the spec changed, proceeds from it: the instances the
// plan would change are changed without being described again, and the checks that passed
// are not repeated. Lost on restart, which costs one observation.
type planMemory struct {
	specHash     string
	at           time.Time
	carriers     map[string]ecs.Instance
	access       accessCheck
	dryRunPassed bool
	keyPairFound bool
}

func (run *run) planning() bool { return run.obj.Spec.Mode == ecsv1alpha1.ModePlan }

// forgetPlanMarks turns the plan's per-instance reasons back into work: in Apply they are what
// was planned, not what happened.
func (t *instanceTable) forgetPlanMarks() {
	for _, i := range t.ordered {
		if i.changeReason() == i.kind.would {
			i.setChange(metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "")
		}
		if i.reason(ecsv1alpha1.ConditionRebooted) == ecsv1alpha1.ReasonWouldReboot {
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, "")
		}
	}
}

// specHash identifies a spec up to its mode: a plan stands for an Apply of the same spec. An
// attachment's replaceKeyPairs are part of it.
func specHash(obj *subject) string {
	spec := *obj.Spec
	spec.Mode = ""
	var replace []string
	if obj.attach != nil {
		replace = obj.attach.ReplaceKeyPairs
	}
	b, _ := json.Marshal(struct { // a struct of plain fields always marshals
		Spec    ecsv1alpha1.KeyPairDetachmentSpec
		Replace []string
	}{spec, replace})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// adoptPlan returns the object's plan memory when this Apply may proceed from it, and makes
// the plan's observation count as this generation's full pass. The memory is used once.
func (r *Reconciler) adoptPlan(obj *subject) *planMemory {
	v, ok := r.plans.LoadAndDelete(obj.GetUID())
	if !ok {
		return nil
	}
	mem := v.(*planMemory)
	if mem.specHash != specHash(obj) || r.now().Sub(mem.at) >= r.ResyncPeriod {
		return nil
	}
	r.fullPasses.Store(obj.GetUID(), fullPass{generation: obj.GetGeneration(), at: mem.at, keyPairFound: mem.keyPairFound})
	return mem
}

// recallPlanned fills in, from the adopted plan, the observation of the targets the plan saw
// carrying the key, and returns the targets still to describe.
func (run *run) recallPlanned(targets []*instance) []*instance {
	if run.fromPlan == nil {
		return targets
	}
	var rest []*instance
	for _, i := range targets {
		if o, ok := run.fromPlan.carriers[i.id()]; ok {
			i.observed, i.found = &o, true
			continue
		}
		rest = append(rest, i)
	}
	return rest
}

// rememberPlan keeps what this plan saw for a later Apply; only a complete observation counts.
func (run *run) rememberPlan(carriers []*instance) {
	mem := &planMemory{specHash: specHash(run.obj), at: run.now, carriers: make(map[string]ecs.Instance, len(carriers)),
		access: run.accessFound, dryRunPassed: run.dryRunPassed || !run.obj.Spec.Reboot.Enabled,
		keyPairFound: run.r.keyPairKnownToExist(run.obj)}
	for _, i := range carriers {
		mem.carriers[i.id()] = *i.observed
	}
	run.r.plans.Store(run.obj.GetUID(), mem)
}

func (r *Reconciler) forgetPlan(uid types.UID) { r.plans.Delete(uid) }

// markWouldChange gives the instances due for the change the plan's reason instead of
// changing them.
func (run *run) markWouldChange(carriers []*instance) {
	for _, i := range carriers {
		if i.changeReason() == ecsv1alpha1.ReasonPending {
			i.setChange(metav1.ConditionUnknown, run.kind.would,
				fmt.Sprintf("%s; an Apply makes the %s", run.kind.pending(run.obj, i.observed), run.kind.verb))
		}
	}
}

// writePlan turns the pass's observation into the plan: per instance what an Apply would do,
// and status.plan with the counts, the calls, the reboot waves and the estimated duration.
func (run *run) writePlan() {
	spec := run.obj.Spec
	p := ecsv1alpha1.Plan{Generation: run.obj.GetGeneration(), MadeAt: metav1.Time{Time: run.now}}
	var rebootQueue []*instance
	for _, i := range run.table.ordered {
		detached := i.condition(run.kind.condition)
		switch {
		case detached.Reason == run.kind.would:
			p.Changes++
			if !spec.Reboot.Enabled {
				continue
			}
			if i.observed != nil && i.observed.Status == ecs.StatusRunning {
				rebootQueue = append(rebootQueue, i)
			} else {
				i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
					fmt.Sprintf("Not Running: the %s would take effect at its next start; it is never started", run.kind.verb))
			}
		case detached.Status == metav1.ConditionFalse:
			p.Discrepancies++
		case spec.Reboot.Enabled && rebootDue(i):
			rebootQueue = append(rebootQueue, i)
		case detached.Status == metav1.ConditionTrue:
			p.Unchanged++
		}
	}
	p.Reboot = int32(len(rebootQueue))
	p.ChangeCalls = ceilDiv(p.Changes, ecs.MaxDetachIDs)
	maxConcurrent := max(spec.Reboot.MaxConcurrent, 1)
	p.RebootWaves = ceilDiv(p.Reboot, int(maxConcurrent))
	for n, i := range rebootQueue {
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonWouldReboot,
			fmt.Sprintf("An Apply reboots it in wave %d of %d", n/int(maxConcurrent)+1, p.RebootWaves))
	}
	rebootDuration, measured := run.r.expectedRebootDuration(spec.RegionID)
	p.RebootDuration, p.RebootDurationMeasured = metav1.Duration{Duration: rebootDuration}, measured
	p.EstimatedDuration = metav1.Duration{Duration: run.r.estimate(len(run.table.ordered), p, rebootDuration, int(maxConcurrent))}
	if spec.Reboot.Enabled && p.Reboot > 0 && run.window != nil && !run.window.Open(run.now) {
		p.NextWindowOpening = &metav1.Time{Time: run.window.NextOpening(run.now)}
	}
	p.Summary = run.planSummary(p)
	run.obj.Status.Plan = &p
}

// planSummary is the plan in one line, for kubectl's PLAN column and the Ready message.
func (run *run) planSummary(p ecsv1alpha1.Plan) string {
	s := fmt.Sprintf("%s %d (%s)", run.kind.verb, p.Changes, plural(p.ChangeCalls, "call"))
	if run.obj.Spec.Reboot.Enabled {
		s += fmt.Sprintf(", reboot %d in %s", p.Reboot, plural(p.RebootWaves, "wave"))
	}
	if p.Discrepancies > 0 {
		s += fmt.Sprintf(", %d left alone", p.Discrepancies)
	}
	s += ", ~" + roughDuration(p.EstimatedDuration.Duration)
	if run.obj.Spec.Reboot.Enabled && p.Reboot > 0 && !p.RebootDurationMeasured {
		s += " assuming " + roughDuration(p.RebootDuration.Duration) + " reboots"
	}
	if p.NextWindowOpening != nil {
		s += ", window opens " + p.NextWindowOpening.UTC().Format("2006-01-02 15:04Z")
	}
	if run.preflightBlocks() {
		s = "BLOCKED (" + run.preflightFound.reason + "): " + s
	}
	return s
}

// assumedRebootDuration stands in for a measurement until this manager has seen reboots in the
// region: a Linux instance's graceful reboot usually takes one to two minutes.
const assumedRebootDuration = 2 * time.Minute

// expectedRebootDuration is the measured mean reboot time in the region, or the assumption.
func (r *Reconciler) expectedRebootDuration(region string) (time.Duration, bool) {
	if v, ok := r.rebootDurations.Load(region); ok {
		return v.(time.Duration), true
	}
	return assumedRebootDuration, false
}

// measureReboot folds one reboot's duration (request to Running again, as seen by the polls)
// into the region's moving average.
func (r *Reconciler) measureReboot(region string, d time.Duration) {
	if d <= 0 {
		return
	}
	for {
		v, loaded := r.rebootDurations.LoadOrStore(region, d)
		if !loaded {
			return
		}
		next := (v.(time.Duration)*7 + d) / 8
		if r.rebootDurations.CompareAndSwap(region, v, next) {
			return
		}
	}
}

// estimate is the expected duration of an Apply: the ECS calls at the client-side budget
// (observation, pre-flight, detaches, reboot requests and the polls of every wave), plus the
// waves one after another. Waiting for a reboot window is not counted.
func (r *Reconciler) estimate(total int, p ecsv1alpha1.Plan, rebootDuration time.Duration,
	maxConcurrent int) time.Duration {
	pollsPerWave := int(rebootDuration/r.RebootPollInterval) + 1
	describesPerPoll := int(ceilDiv(int32(maxConcurrent), ecs.MaxDescribeIDs))
	polls := int(p.RebootWaves) * pollsPerWave * describesPerPoll
	calls := int(ceilDiv(int32(total), ecs.MaxDescribeIDs)) + 1 + int(ceilDiv(p.Changes, ecs.MaxCloudAssistantIDs)) + int(p.ChangeCalls) +
		int(ceilDiv(p.Reboot, ecs.MaxRebootIDs)) + int(p.RebootWaves) + polls
	d := time.Duration(p.RebootWaves) * (rebootDuration + r.RebootPollInterval)
	if r.ecsQPS > 0 {
		d += time.Duration(float64(calls) / r.ecsQPS * float64(time.Second))
	}
	return d.Round(time.Second)
}

func plural(n int32, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ceilDiv(n int32, size int) int32 {
	return (n + int32(size) - 1) / int32(size)
}

// roughDuration prints a duration the way people estimate: 45s, 12m, 3h10m.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}
