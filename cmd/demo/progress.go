package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// row is one object's line of the progress table.
type row struct {
	name     string
	observed bool // the status describes the current generation
	summary  ecsv1alpha1.Summary
	// rebooting counts instances whose reboot was requested or accepted and that are not
	// Running again yet; pending excludes them.
	rebooting int32
	ready     *metav1.Condition
	stalled   bool
}

func rowOf(obj *ecsv1alpha1.KeyPairDetachment) row {
	r := row{
		name:     obj.Name,
		observed: obj.Status.ObservedGeneration == obj.Generation,
		summary:  obj.Status.Summary,
		ready:    meta.FindStatusCondition(obj.Status.Conditions, ecsv1alpha1.ConditionReady),
		stalled:  meta.IsStatusConditionTrue(obj.Status.Conditions, ecsv1alpha1.ConditionStalled),
	}
	for _, in := range obj.Status.Instances {
		switch c := ecsv1alpha1.FindInstanceCondition(in.Conditions, ecsv1alpha1.ConditionRebooted); {
		case c == nil:
		case c.Reason == ecsv1alpha1.ReasonRebootRequested, c.Reason == ecsv1alpha1.ReasonRebooting:
			r.rebooting++
		}
	}
	return r
}

// done says whether the object reached an end state: Ready, or Stalled (a human must act).
func (r row) done() bool {
	return r.observed && r.ready != nil && (r.ready.Status == metav1.ConditionTrue || r.stalled)
}

// readyText is the READY column: Ready's status and reason, and Stalled when it is True.
func (r row) readyText() string {
	if !r.observed || r.ready == nil {
		return "(not observed yet)"
	}
	s := string(r.ready.Status) + "/" + r.ready.Reason
	if r.stalled {
		s += ", Stalled"
	}
	return s
}

func (r row) pending() int32 { return max(0, r.summary.Pending-r.rebooting) }

// progress draws the table: redrawn in place on a terminal, one line per changed object
// otherwise (CI logs, pipes).
type progress struct {
	out   io.Writer
	tty   bool
	start time.Time
	drawn int               // lines of the last frame on a terminal
	last  map[string]string // last line printed per object otherwise
}

func newProgress(out io.Writer, tty bool) *progress {
	return &progress{out: out, tty: tty, start: time.Now(), last: map[string]string{}}
}

const tableHeader = "  %-26s %5s %8s %9s %10s %9s %7s  %s\n"

func (p *progress) render(rows []row, stats ecsemu.Stats) {
	elapsed := time.Since(p.start).Round(time.Second)
	if !p.tty {
		for _, r := range rows {
			line := fmt.Sprintf("%s: pending %d, detached %d, rebooting %d, rebooted %d, failed %d; Ready=%s",
				r.name, r.pending(), r.summary.Detached, r.rebooting, r.summary.Rebooted, r.summary.Failed, r.readyText())
			if p.last[r.name] != line {
				p.last[r.name] = line
				printf(p.out, "[%4s] %s\n", elapsed, line)
			}
		}
		return
	}
	var b strings.Builder
	if p.drawn > 0 {
		printf(&b, "\x1b[%dA", p.drawn)
	}
	lines := []string{
		fmt.Sprintf(tableHeader, "KEYPAIRDETACHMENT", "TOTAL", "PENDING", "DETACHED", "REBOOTING", "REBOOTED", "FAILED", "READY"),
	}
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("  %-26s %5d %8d %9d %10d %9d %7d  %s\n", r.name, r.summary.Total, r.pending(),
			r.summary.Detached, r.rebooting, r.summary.Rebooted, r.summary.Failed, r.readyText()))
	}
	lines = append(lines, fmt.Sprintf("  %s elapsed; the emulator saw %s\n", elapsed, callSummary(stats)))
	for _, l := range lines {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
	}
	p.drawn = len(lines)
	printf(p.out, "%s", b.String())
}

// callSummary tells what the operator asked of ECS so far.
func callSummary(s ecsemu.Stats) string {
	reboots := 0
	for _, n := range s.Reboots {
		reboots += n
	}
	return fmt.Sprintf("%d DescribeInstances, %d DetachKeyPair and %d RebootInstances calls, %d reboots",
		s.Calls["DescribeInstances"], s.Calls["DetachKeyPair"], s.Calls["RebootInstances"]-s.DryRuns["RebootInstances"], reboots)
}

// fetchObjects reads the demo's objects from the API server, in the plans' order.
func fetchObjects(ctx context.Context, c client.Reader, names []string) ([]*ecsv1alpha1.KeyPairDetachment, error) {
	objs := make([]*ecsv1alpha1.KeyPairDetachment, 0, len(names))
	for _, name := range names {
		obj := &ecsv1alpha1.KeyPairDetachment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: name}, obj); err != nil {
			return nil, fmt.Errorf("read KeyPairDetachment %s/%s: %w", demoNamespace, name, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// watchUntilDone refreshes the table until every object reached its end state, and returns the
// objects as they ended.
func watchUntilDone(ctx context.Context, c client.Reader, names []string, emu *ecsemu.Emulator, p *progress,
	every time.Duration) ([]*ecsv1alpha1.KeyPairDetachment, error) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		objs, err := fetchObjects(ctx, c, names)
		if err != nil {
			return nil, err
		}
		rows := make([]row, len(objs))
		allDone := true
		for i, obj := range objs {
			rows[i] = rowOf(obj)
			allDone = allDone && rows[i].done()
		}
		p.render(rows, emu.Stats())
		if allDone {
			return objs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ticker.C:
		}
	}
}
