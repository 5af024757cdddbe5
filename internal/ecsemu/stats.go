package ecsemu

import (
	"maps"
	"sync"
)

// Stats are the emulator's counters, as GET /_emulator/stats shows them (design.md §5).
type Stats struct {
	// Calls counts authenticated requests per action, whatever their outcome.
	Calls map[string]int `json:"calls"`
	// DryRuns counts the calls among Calls that asked for DryRun=true, per action, so that
	// "RebootInstances calls minus dry runs" counts the real requests.
	DryRuns map[string]int `json:"dryRuns"`
	// Reboots counts reboots actually performed per instance (no dry runs, no refusals).
	Reboots map[string]int `json:"reboots"`
	// MaxConcurrentReboots is the most instances in Stopping or Starting at one moment.
	MaxConcurrentReboots int `json:"maxConcurrentReboots"`
	// ForceReboots counts instance reboots done with ForceStop/ForceReboot.
	ForceReboots int `json:"forceReboots"`
	// Rejected counts requests refused at authentication, per code.
	Rejected map[string]int `json:"rejected"`
	// Errors counts error answers per code (API errors, throttling, injected 5xx).
	Errors map[string]int `json:"errors"`
	// InstanceFailures counts per-instance failures reported inside successful answers, per code.
	InstanceFailures map[string]int `json:"instanceFailures"`
	// Dropped counts connections closed without an answer by fault injection.
	Dropped int `json:"dropped"`
}

type recorder struct {
	mu sync.Mutex
	s  Stats
}

func newRecorder() *recorder {
	r := &recorder{}
	r.reset()
	return r
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = Stats{
		Calls: map[string]int{}, DryRuns: map[string]int{}, Reboots: map[string]int{}, Rejected: map[string]int{},
		Errors: map[string]int{}, InstanceFailures: map[string]int{},
	}
}

func (r *recorder) update(fn func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.s)
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.Calls = maps.Clone(r.s.Calls)
	s.DryRuns = maps.Clone(r.s.DryRuns)
	s.Reboots = maps.Clone(r.s.Reboots)
	s.Rejected = maps.Clone(r.s.Rejected)
	s.Errors = maps.Clone(r.s.Errors)
	s.InstanceFailures = maps.Clone(r.s.InstanceFailures)
	return s
}

// Stats returns a copy of the counters.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// ResetStats sets every counter back to zero, so a test can measure one phase of a scenario.
func (e *Emulator) ResetStats() { e.stats.reset() }
