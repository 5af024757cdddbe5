package ecsemu

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Faults are injected into every API call of every account from the moment they are set.
// Rates are probabilities in [0, 1], drawn independently per call.
type Faults struct {
	// ThrottleRate answers Throttling.User (HTTP 400).
	ThrottleRate float64
	// ErrorRate answers 503 ServiceUnavailable or 500 InternalError, half and half.
	ErrorRate float64
	// DropRate closes the connection without an answer.
	DropRate float64
	// Latency is added to the fleet's latency.
	Latency time.Duration
}

// faultsJSON is the wire form of Faults on POST /_emulator/faults.
type faultsJSON struct {
	ThrottleRate float64 `json:"throttleRate"`
	ErrorRate    float64 `json:"errorRate"`
	DropRate     float64 `json:"dropRate"`
	Latency      string  `json:"latency"`
}

// MarshalJSON writes the admin endpoint's form, latency in Go syntax.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		ThrottleRate: f.ThrottleRate, ErrorRate: f.ErrorRate, DropRate: f.DropRate,
		Latency: f.Latency.String(),
	})
}

// UnmarshalJSON reads the admin endpoint's form; absent fields are zero.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("parse faults: %w", err)
	}
	out := Faults{ThrottleRate: w.ThrottleRate, ErrorRate: w.ErrorRate, DropRate: w.DropRate}
	if w.Latency != "" {
		d, err := time.ParseDuration(w.Latency)
		if err != nil {
			return fmt.Errorf("parse faults latency: %w", err)
		}
		out.Latency = d
	}
	*f = out
	return nil
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{"throttleRate": f.ThrottleRate, "errorRate": f.ErrorRate, "dropRate": f.DropRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s %v is not within [0, 1]", name, r)
		}
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %v is negative", f.Latency)
	}
	return nil
}

// SetFaults replaces the fault set for every account and action; the zero Faults clears it.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("set faults: %w", err)
	}
	e.faultsMu.Lock()
	defer e.faultsMu.Unlock()
	e.faults = f
	return nil
}

// Faults returns the fault set in force.
func (e *Emulator) Faults() Faults {
	e.faultsMu.Lock()
	defer e.faultsMu.Unlock()
	return e.faults
}

// fault is what the dice decided for one call.
type fault int

const (
	faultNone fault = iota
	faultDrop
	faultThrottle
	faultError
)

// roll draws the fault for one call. A rate of 1 always fires, a rate of 0 never does, which is
// what deterministic tests rely on.
func (f Faults) roll() (fault, *apiError) {
	switch {
	case hit(f.DropRate):
		return faultDrop, nil
	case hit(f.ThrottleRate):
		return faultThrottle, errThrottled()
	case hit(f.ErrorRate):
		if rand.IntN(2) == 0 {
			return faultError, errServiceUnavailable()
		}
		return faultError, errInternal()
	}
	return faultNone, nil
}

func hit(rate float64) bool {
	return rate > 0 && rand.Float64() < rate
}
