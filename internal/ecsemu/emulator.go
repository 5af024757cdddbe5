// Package ecsemu emulates the slice of Alibaba Cloud ECS that the operator uses, faithfully
// enough for the official SDK to talk to it over HTTP: signed requests (ACS3-HMAC-SHA256 and the
// legacy RPC HMAC-SHA1, STS tokens), the 50/100-ID limits, per-instance results, a reboot
// lifecycle on an injectable clock, throttling, injected faults, and counters that tests assert
// on. See docs/emulator.md for the fleet file and the admin endpoints.
package ecsemu

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Emulator is an emulated ECS endpoint. It is safe for concurrent use.
type Emulator struct {
	clock    Clock
	accounts map[string]Account
	// denied: access key → actions its identity has no RAM permission for.
	denied   map[string]map[string]bool
	nonces   *nonceCache
	throttle *throttler
	stats    *recorder
	ids      *requestIDs

	mu        sync.Mutex // guards world, lifecycle and latency
	world     *world
	lifecycle lifecycle
	latency   time.Duration

	faultsMu sync.Mutex
	faults   Faults
}

// Option configures an Emulator.
type Option func(*Emulator)

// WithClock makes the emulator read time from c instead of the wall clock (lifecycle and
// throttling only; signature dates are always checked against the wall clock).
func WithClock(c Clock) Option {
	return func(e *Emulator) { e.clock = c }
}

// New builds an emulator for fleet. The fleet is validated as ParseFleet does, so a Fleet built
// in Go gets the same checks as a file.
func New(fleet Fleet, opts ...Option) (*Emulator, error) {
	if err := fleet.validate(); err != nil {
		return nil, fmt.Errorf("invalid fleet: %w", err)
	}
	e := &Emulator{
		clock:    realClock{},
		accounts: make(map[string]Account, len(fleet.Accounts)),
		denied:   make(map[string]map[string]bool),
		nonces:   newNonceCache(),
		stats:    newRecorder(),
		ids:      newRequestIDs(),
		latency:  time.Duration(fleet.Latency),
		lifecycle: lifecycle{
			stopping: durationOr(fleet.Lifecycle.Stopping, DefaultStopping),
			starting: durationOr(fleet.Lifecycle.Starting, DefaultStarting),
		},
	}
	for _, o := range opts {
		o(e)
	}
	for _, a := range fleet.Accounts {
		e.accounts[a.AccessKeyID] = a
		for _, action := range a.Deny {
			if e.denied[a.AccessKeyID] == nil {
				e.denied[a.AccessKeyID] = map[string]bool{}
			}
			e.denied[a.AccessKeyID][action] = true
		}
	}
	e.throttle = newThrottler(fleet.Throttle)
	e.world = newWorld(fleet, e.clock.Now())
	return e, nil
}

func durationOr(d Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// Instances returns the fleet's current state, sorted by instance ID.
func (e *Emulator) Instances() []Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	out := make([]Instance, 0, len(e.world.order))
	for _, id := range e.world.order {
		out = append(out, e.world.instances[id].snapshot(now))
	}
	return out
}

// Instance returns one instance's current state.
func (e *Emulator) Instance(id string) (Instance, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.world.instances[id]
	if in == nil {
		return Instance{}, false
	}
	return in.snapshot(e.clock.Now()), true
}

// SetInstanceKeyPair changes an instance's key pair as if someone did it out of band (drift);
// key "" removes it. The key pair is created in the instance's region if needed, and a change
// is pending until the next start, as with AttachKeyPair.
func (e *Emulator) SetInstanceKeyPair(id, key string) error {
	return e.withInstance(id, func(in *instance, now time.Time) {
		if key != "" {
			e.world.addKeyPair(in.region, key, now)
		}
		if in.keyPair != key {
			in.keyPair = key
			in.pending = true
		}
	})
}

// SetInstanceStatus forces an instance to Running or Stopped, ending any reboot in progress.
// Moving it to Running counts as a start (new StartTime, pending key change takes effect).
func (e *Emulator) SetInstanceStatus(id, status string) error {
	if status != StatusRunning && status != StatusStopped {
		return fmt.Errorf("set status of %s: %q is not Running or Stopped", id, status)
	}
	return e.withInstance(id, func(in *instance, now time.Time) { in.setStatus(status, now) })
}

// SetRebootHang makes the instance's reboots (including one in progress) stay in Starting
// forever when hang is true, so callers can exercise their reboot timeouts.
func (e *Emulator) SetRebootHang(id string, hang bool) error {
	return e.withInstance(id, func(in *instance, now time.Time) {
		in.hang = hang
		if in.reboot != nil {
			e.world.rebooting[in.id] = in.rebootEnd()
		}
	})
}

// SetCloudAssistant starts (true) or stops (false) an instance's Cloud Assistant agent.
func (e *Emulator) SetCloudAssistant(id string, running bool) error {
	return e.withInstance(id, func(in *instance, _ time.Time) { in.assistant = running })
}

// SetLockReason puts an operation lock on an instance ("security", "financial", ...); "" lifts it.
func (e *Emulator) SetLockReason(id, reason string) error {
	return e.withInstance(id, func(in *instance, _ time.Time) { in.lockReason = reason })
}

// SetLifecycle changes the phase durations of reboots accepted from now on.
func (e *Emulator) SetLifecycle(stopping, starting time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lifecycle = lifecycle{stopping: stopping, starting: starting}
}

// SetLatency changes the latency added to every API call (the fleet file's latency).
func (e *Emulator) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetThrottle replaces the throttling budget; buckets start full again.
func (e *Emulator) SetThrottle(t Throttle) {
	e.throttle.reset(t)
}

func (e *Emulator) withInstance(id string, fn func(*instance, time.Time)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.world.get(id)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	in.settle(now)
	fn(in, now)
	return nil
}

// sortedKeys is used wherever a map must be answered in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
