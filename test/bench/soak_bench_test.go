package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// Each soak object holds instances of the three kinds a real fleet mixes: those the rollout
// reboots, those it must leave stopped, and those it has nothing to do for.
const (
	soakObjects       = 20
	soakRunning       = 90 // Running, carrying the key
	soakStopped       = 5  // Stopped, carrying the key
	soakKeyless       = 5  // Running, without the key
	soakMaxConcurrent = 5
)

// soakKillsAt are the fractions of the expected reboots at which the faulted run's manager is
// SIGKILLed: early, middle and late in the rollout.
var soakKillsAt = []float64{0.20, 0.45, 0.70}

// BenchmarkSoak runs the same reboot rollout twice and prints the runs side by side: fault-free
// with no restart, then with throttling and 5xx answers on every ECS call and three SIGKILLs
// of the manager, each followed at once by a restart.
func BenchmarkSoak(b *testing.B) {
	cp := startControlPlane(b)
	manager := buildManager(b)
	for range b.N {
		free := soak(b, cp, manager, "fault-free", ecsemu.Faults{}, nil)
		stopUnlessSettled(b, free.outcome)
		faulted := soak(b, cp, manager, "faulted", injectedFaults, soakKillsAt)
		printSoak(b, free, faulted)
		stopUnlessSettled(b, faulted.outcome)
	}
}

type soakOutcome struct {
	outcome
	// kills is how many instances had been rebooted at each SIGKILL.
	kills                     []int
	running, stopped, keyless spread
	objectPeak, fleetPeak     int
}

func soak(b *testing.B, cp controlPlane, manager, name string, faults ecsemu.Faults, killsAt []float64) soakOutcome {
	b.Helper()
	running, stopped, keyless := soakObjects*soakRunning, soakObjects*soakStopped, soakObjects*soakKeyless
	t := startTrial(b, cp, manager, ecsemu.Fleet{
		Generate: []ecsemu.GenerateSpec{
			linuxFleet("i-soakon", running, ecsemu.StatusRunning, keyPair),
			linuxFleet("i-soakoff", stopped, ecsemu.StatusStopped, keyPair),
			linuxFleet("i-soakbare", keyless, ecsemu.StatusRunning, ""),
		},
		Lifecycle: fastLifecycle,
	}, faults)
	defer t.close()
	objs := make([]*ecsv1alpha1.KeyPairDetachment, soakObjects)
	for o := range objs {
		ids := generated("i-soakon", running, o*soakRunning+1, soakRunning)
		ids = append(ids, generated("i-soakoff", stopped, o*soakStopped+1, soakStopped)...)
		ids = append(ids, generated("i-soakbare", keyless, o*soakKeyless+1, soakKeyless)...)
		objs[o] = detachment(fmt.Sprintf("soak-%02d", o), ids, rollout(soakMaxConcurrent))
	}
	t.create(objs)
	peaks := inFlightPeaks{}
	k := &killer{t: t, at: killsAt, expected: running}
	out := t.await(soakObjects, 20*time.Minute, peaks.observe, k.observe)
	if len(k.kills) != len(killsAt) {
		b.Errorf("%s: the manager was SIGKILLed %d times, not %d", name, len(k.kills), len(killsAt))
	}
	if failed := out.failed(); failed != 0 {
		b.Errorf("%s: %d instances failed", name, failed)
	}
	return soakOutcome{
		outcome: out,
		kills:   k.kills,
		running: rebootsPer(b, out.stats, name+": Running instances with the key", generated("i-soakon", running, 1, running), 1),
		stopped: rebootsPer(b, out.stats, name+": Stopped instances with the key", generated("i-soakoff", stopped, 1, stopped), 0),
		keyless: rebootsPer(b, out.stats, name+": Running instances without the key",
			generated("i-soakbare", keyless, 1, keyless), 0),
		objectPeak: peaks.highest(b, name, soakMaxConcurrent),
		fleetPeak:  fleetPeak(b, name, out.stats, soakObjects*soakMaxConcurrent),
	}
}

// killer SIGKILLs the manager each time the instances rebooted cross the next fraction of
// those expected, and restarts it at once with the same flags, as a crash-looping Pod would.
type killer struct {
	t        *trial
	at       []float64
	expected int
	kills    []int
}

func (k *killer) observe(*ecsv1alpha1.KeyPairDetachmentList) {
	if len(k.kills) == len(k.at) {
		return
	}
	done := len(k.t.emu.Stats().Reboots)
	if float64(done) < k.at[len(k.kills)]*float64(k.expected) {
		return
	}
	k.t.mgr.kill(k.t.b, fmt.Sprintf("%d of %d instances rebooted; restarting", done, k.expected))
	k.t.mgr.start(k.t.b)
	k.kills = append(k.kills, done)
}

func printSoak(b *testing.B, free, faulted soakOutcome) {
	b.Helper()
	c := compare(b, fmt.Sprintf("Soak: %d objects × %d instances (%d Running with the key, %d Stopped with it, %d Running without), "+
		"reboot maxConcurrent %d; faulted: %s, and a SIGKILL of the manager at %s of the reboots",
		soakObjects, soakRunning+soakStopped+soakKeyless, soakRunning, soakStopped, soakKeyless, soakMaxConcurrent,
		faultsLabel(injectedFaults), percents(soakKillsAt)), free.outcome, faulted.outcome)
	c.convergence(" (target ≤ 3)")
	c.calls()
	c.row("manager SIGKILLs", killsLine(free.kills), killsLine(faulted.kills), "")
	c.row("reboots per Running instance with the key", free.running.String(), faulted.running.String(), "")
	c.row("reboots per Stopped instance with the key", free.stopped.String(), faulted.stopped.String(), "")
	c.row("reboots per Running instance without the key", free.keyless.String(), faulted.keyless.String(), "")
	fleetCap := soakObjects * soakMaxConcurrent
	c.row("concurrent reboots, fleet-wide (emulator)", ofCap(free.fleetPeak, fleetCap), ofCap(faulted.fleetPeak, fleetCap), "")
	c.row("reboots in flight per object (status)", ofCap(free.objectPeak, soakMaxConcurrent),
		ofCap(faulted.objectPeak, soakMaxConcurrent), "")
	c.row("failed instances", fmt.Sprint(free.failed()), fmt.Sprint(faulted.failed()), "")
	c.memory(fmt.Sprintf(" (highest of %d runs)", len(faulted.kills)+1))
	c.flush()
	c.metric("kills", float64(len(free.kills)), float64(len(faulted.kills)))
	c.metric("failed", float64(free.failed()), float64(faulted.failed()))
	c.metric("reboots-per-instance-max", float64(free.running.most), float64(faulted.running.most))
	c.metric("peak-concurrent-reboots", float64(free.fleetPeak), float64(faulted.fleetPeak))
	c.metric("peak-in-flight-per-object", float64(free.objectPeak), float64(faulted.objectPeak))
}

func killsLine(kills []int) string {
	if len(kills) == 0 {
		return "0"
	}
	at := make([]string, len(kills))
	for i, n := range kills {
		at[i] = fmt.Sprint(n)
	}
	return fmt.Sprintf("%d, at %s instances rebooted", len(kills), strings.Join(at, "/"))
}

func percents(fractions []float64) string {
	out := make([]string, len(fractions))
	for i, f := range fractions {
		out[i] = fmt.Sprintf("%.0f%%", f*100)
	}
	return strings.Join(out, ", ")
}

func ofCap(n, limit int) string { return fmt.Sprintf("%d (cap %d)", n, limit) }
