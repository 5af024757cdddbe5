package bench

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// spread is the fewest and most reboots the emulator performed on any of a set of instances.
type spread struct{ least, most int }

func (s spread) String() string { return fmt.Sprintf("min %d max %d", s.least, s.most) }

// rebootsPer checks that the emulator rebooted each of ids exactly want times: a reboot is
// not idempotent, so a second one is a bug, not a cost.
func rebootsPer(b *testing.B, stats ecsemu.Stats, what string, ids []string, want int) spread {
	b.Helper()
	s := spread{least: -1}
	var off []string
	for _, id := range ids {
		n := stats.Reboots[id]
		if s.least < 0 || n < s.least {
			s.least = n
		}
		s.most = max(s.most, n)
		if n != want {
			off = append(off, fmt.Sprintf("%s=%d", id, n))
		}
	}
	if len(off) > 0 {
		b.Errorf("%d of %d %s were not rebooted exactly %d times: %v", len(off), len(ids), what, want, first(off, 10))
	}
	return s
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// inFlightPeaks is, per object, the most instances seen at once with a reboot requested or
// under way. The emulator only knows the fleet-wide peak; the status is where maxConcurrent,
// which is per object, can be checked.
type inFlightPeaks map[string]int

func (p inFlightPeaks) observe(list *ecsv1alpha1.KeyPairDetachmentList) {
	for i := range list.Items {
		obj := &list.Items[i]
		n := 0
		for _, in := range obj.Status.Instances {
			c := ecsv1alpha1.FindInstanceCondition(in.Conditions, ecsv1alpha1.ConditionRebooted)
			if c != nil && (c.Reason == ecsv1alpha1.ReasonRebootRequested || c.Reason == ecsv1alpha1.ReasonRebooting) {
				n++
			}
		}
		p[obj.Name] = max(p[obj.Name], n)
	}
}

// highest is the highest per-object peak; it fails the benchmark when one exceeded the cap.
func (p inFlightPeaks) highest(b *testing.B, run string, maxConcurrent int) int {
	b.Helper()
	top := 0
	for _, name := range slices.Sorted(maps.Keys(p)) {
		if p[name] > maxConcurrent {
			b.Errorf("%s: %s had %d reboots in flight at once, more than maxConcurrent %d", run, name, p[name], maxConcurrent)
		}
		top = max(top, p[name])
	}
	return top
}

// fleetPeak checks the emulator's fleet-wide peak of concurrent reboots against the sum of
// the objects' caps.
func fleetPeak(b *testing.B, run string, stats ecsemu.Stats, limit int) int {
	b.Helper()
	if stats.MaxConcurrentReboots > limit {
		b.Errorf("%s: the emulator saw %d reboots at once, more than the %d the objects allow together",
			run, stats.MaxConcurrentReboots, limit)
	}
	return stats.MaxConcurrentReboots
}
