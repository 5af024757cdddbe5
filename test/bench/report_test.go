package bench

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// comparison prints two runs of the same work side by side, fault-free then faulted, with the
// faulted/fault-free ratio, and reports each figure as a metric prefixed faultfree- or
// faulted-, so that both halves show in the benchmark line too.
type comparison struct {
	b             *testing.B
	free, faulted outcome
	w             *tabwriter.Writer
}

func compare(b *testing.B, title string, free, faulted outcome) *comparison {
	fmt.Println(title)
	c := &comparison{b: b, free: free, faulted: faulted, w: tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)}
	c.row("", "fault-free", "faulted", "faulted/fault-free")
	return c
}

func (c *comparison) row(label, free, faulted, ratio string) {
	_, _ = fmt.Fprintf(c.w, "  %s\t%s\t%s\t%s\n", label, free, faulted, ratio)
}

func (c *comparison) metric(unit string, free, faulted float64) {
	c.b.ReportMetric(free, "faultfree-"+unit)
	c.b.ReportMetric(faulted, "faulted-"+unit)
}

// convergence is the time until every object settled; target says what the ratio is held to.
func (c *comparison) convergence(target string) {
	f, g := c.free.converge.Seconds(), c.faulted.converge.Seconds()
	c.row("convergence", settledIn(c.free), settledIn(c.faulted), ratio(g, f)+target)
	c.metric("converge-s", f, g)
	c.b.ReportMetric(g/f, "converge-ratio")
}

// calls is the ECS calls by action, whatever their answer, their total and the error answers.
func (c *comparison) calls() {
	for _, action := range actionsOf(c.free.stats, c.faulted.stats) {
		f, g := c.free.stats.Calls[action], c.faulted.stats.Calls[action]
		c.row(action, fmt.Sprint(f), fmt.Sprint(g), ratio(float64(g), float64(f)))
		c.metric(action, float64(f), float64(g))
	}
	f, g := sum(c.free.stats.Calls), sum(c.faulted.stats.Calls)
	c.row("total calls", fmt.Sprint(f), fmt.Sprint(g), ratio(float64(g), float64(f)))
	c.metric("calls", float64(f), float64(g))
	c.b.ReportMetric(float64(g)/float64(f), "calls-ratio")
	c.row("error answers", errorsLine(c.free.stats), errorsLine(c.faulted.stats), "")
}

// memory is the manager's peak RSS; note says how the faulted figure was taken.
func (c *comparison) memory(note string) {
	c.row("manager peak RSS", mib(c.free.peakRSSKiB), mib(c.faulted.peakRSSKiB)+note, "")
	c.metric("manager-peak-MiB", float64(c.free.peakRSSKiB)/1024, float64(c.faulted.peakRSSKiB)/1024)
}

func (c *comparison) flush() { _ = c.w.Flush() }

func settledIn(o outcome) string {
	d := o.converge.Round(10 * time.Millisecond).String()
	switch {
	case o.timedOut:
		return "not settled after " + o.converge.Round(time.Second).String()
	case len(o.stalled) > 0:
		return fmt.Sprintf("%s, %d objects stalled", d, len(o.stalled))
	default:
		return d
	}
}

func ratio(num, den float64) string {
	if den == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", num/den)
}

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// actionsOf is every action any of the runs called, in a stable order for the rows.
func actionsOf(runs ...ecsemu.Stats) []string {
	seen := map[string]bool{}
	for _, s := range runs {
		for action := range s.Calls {
			seen[action] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// countsLine is "A=1 B=2" in a stable order.
func countsLine(counts map[string]int) string {
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// errorsLine shows that the faults were injected: error answers by code.
func errorsLine(s ecsemu.Stats) string {
	if len(s.Errors) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", sum(s.Errors), countsLine(s.Errors))
}
