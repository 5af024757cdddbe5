package ecsemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

// Fleet is the emulator's starting world, as read from a fleet file (design.md §5).
type Fleet struct {
	// Accounts may sign requests. Every account sees the whole fleet.
	Accounts []Account `json:"accounts,omitempty"`
	// KeyPairs exist in their region. A key pair carried by an instance exists implicitly.
	KeyPairs []KeyPair `json:"keyPairs,omitempty"`
	// Instances are listed one by one.
	Instances []InstanceSpec `json:"instances,omitempty"`
	// Generate adds bulk instances.
	Generate []GenerateSpec `json:"generate,omitempty"`
	// Throttle limits calls per (AccessKey, region, action); the zero value is unlimited.
	Throttle Throttle `json:"throttle,omitempty"`
	// Lifecycle sets how long a reboot stays in each phase; zero fields take the defaults.
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`
	// Latency is added to every API call.
	Latency Duration `json:"latency,omitempty"`
}

// Account is an identity that may sign requests. With SecurityToken set it is an STS identity:
// every request must carry that token.
type Account struct {
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	SecurityToken   string `json:"securityToken,omitempty"`
	// Deny names API actions this identity lacks RAM permission for: they answer 403
	// Forbidden.RAM, dry runs included, so that permission pre-flights can be exercised.
	Deny []string `json:"deny,omitempty"`
}

// KeyPair is an SSH key pair registered in a region.
type KeyPair struct {
	RegionID    string `json:"regionId"`
	KeyPairName string `json:"keyPairName"`
}

// InstanceSpec describes one instance of the fleet.
type InstanceSpec struct {
	InstanceID string `json:"instanceId"`
	RegionID   string `json:"regionId"`
	// OSType is "linux" (default) or "windows".
	OSType string `json:"osType,omitempty"`
	// Status is "Running" (default) or "Stopped".
	Status string `json:"status,omitempty"`
	// KeyPairName is empty when the instance carries no key.
	KeyPairName string `json:"keyPairName,omitempty"`
	// LockReason, when set, puts an operation lock on the instance (e.g. "security", "financial").
	LockReason string `json:"lockReason,omitempty"`
	// RebootHang makes every reboot of the instance stay in Starting forever.
	RebootHang bool `json:"rebootHang,omitempty"`
	// CloudAssistant false means the Cloud Assistant agent is not running; absent means it
	// runs, since public images ship it (Windows ones too).
	CloudAssistant *bool `json:"cloudAssistant,omitempty"`
}

// GenerateSpec adds Count instances whose IDs are Prefix + an index from 1, zero-padded to the
// width of Count (count 1000 gives i-gen0001 … i-gen1000).
type GenerateSpec struct {
	Count       int    `json:"count"`
	Prefix      string `json:"prefix"`
	RegionID    string `json:"regionId"`
	OSType      string `json:"osType,omitempty"`
	Status      string `json:"status,omitempty"`
	KeyPairName string `json:"keyPairName,omitempty"`
	// CloudAssistant is as in InstanceSpec, for every generated instance.
	CloudAssistant *bool `json:"cloudAssistant,omitempty"`
}

// Throttle is a token bucket per (AccessKey, region, action).
type Throttle struct {
	// QPS is the refill rate; 0 means unlimited.
	QPS float64 `json:"qps,omitempty"`
	// Burst is the bucket size; 0 means max(1, QPS).
	Burst int `json:"burst,omitempty"`
}

// Lifecycle sets the durations of a reboot's phases.
type Lifecycle struct {
	Stopping Duration `json:"stopping,omitempty"`
	Starting Duration `json:"starting,omitempty"`
}

// Default phase durations of a reboot.
const (
	DefaultStopping = 2 * time.Second
	DefaultStarting = 3 * time.Second
)

// Duration is a time.Duration written in Go syntax ("1s", "250ms") in fleet files.
type Duration time.Duration

// MarshalJSON writes the duration in Go syntax.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration in Go syntax; a bare 0 is accepted too.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "0" {
		*d = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse duration %q: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// LoadFleet reads and validates a fleet file.
func LoadFleet(path string) (Fleet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Fleet{}, fmt.Errorf("read fleet file: %w", err)
	}
	f, err := ParseFleet(data)
	if err != nil {
		return Fleet{}, fmt.Errorf("fleet file %s: %w", path, err)
	}
	return f, nil
}

// ParseFleet reads and validates a fleet document (YAML or JSON). Unknown fields are errors, so
// that a misspelt field does not silently give a different fleet.
func ParseFleet(data []byte) (Fleet, error) {
	var f Fleet
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return Fleet{}, fmt.Errorf("parse fleet: %w", err)
	}
	if err := f.validate(); err != nil {
		return Fleet{}, err
	}
	return f, nil
}

// validate checks what the emulator cannot work around. Defaults (osType, status) are applied
// when the fleet is expanded, not here, so a Fleet value stays as its author wrote it.
func (f *Fleet) validate() error {
	var errs []error
	errs = append(errs, checkAccounts(f.Accounts)...)
	for i, k := range f.KeyPairs {
		if k.RegionID == "" || k.KeyPairName == "" {
			errs = append(errs, fmt.Errorf("keyPairs[%d]: regionId and keyPairName are required", i))
		}
	}
	seen := make(map[string]bool, len(f.Instances))
	for i, in := range f.Instances {
		if in.InstanceID == "" || in.RegionID == "" {
			errs = append(errs, fmt.Errorf("instances[%d]: instanceId and regionId are required", i))
		}
		if seen[in.InstanceID] {
			errs = append(errs, fmt.Errorf("instances[%d]: duplicate instanceId %q", i, in.InstanceID))
		}
		seen[in.InstanceID] = true
		errs = append(errs, checkKinds(fmt.Sprintf("instances[%d]", i), in.OSType, in.Status)...)
	}
	for i, g := range f.Generate {
		where := fmt.Sprintf("generate[%d]", i)
		if g.Count <= 0 || g.Prefix == "" || g.RegionID == "" {
			errs = append(errs, fmt.Errorf("%s: count > 0, prefix and regionId are required", where))
			continue
		}
		errs = append(errs, checkKinds(where, g.OSType, g.Status)...)
		width := len(strconv.Itoa(g.Count))
		for n := 1; n <= g.Count; n++ {
			id := generatedID(g.Prefix, width, n)
			if seen[id] {
				errs = append(errs, fmt.Errorf("%s: generated instanceId %q is already in the fleet", where, id))
				break
			}
			seen[id] = true
		}
	}
	if f.Throttle.QPS < 0 || f.Throttle.Burst < 0 {
		errs = append(errs, errors.New("throttle: qps and burst must not be negative"))
	}
	return errors.Join(errs...)
}

func checkAccounts(accounts []Account) []error {
	var errs []error
	for i, a := range accounts {
		if a.AccessKeyID == "" || a.AccessKeySecret == "" {
			errs = append(errs, fmt.Errorf("accounts[%d]: accessKeyId and accessKeySecret are required", i))
		}
		for _, action := range a.Deny {
			if _, ok := actions[action]; !ok {
				errs = append(errs, fmt.Errorf("accounts[%d]: deny names %q, which is not an action the emulator serves", i, action))
			}
		}
	}
	return errs
}

func checkKinds(where, osType, status string) []error {
	var errs []error
	switch osType {
	case "", OSLinux, OSWindows:
	default:
		errs = append(errs, fmt.Errorf("%s: osType %q is not linux or windows", where, osType))
	}
	switch status {
	case "", StatusRunning, StatusStopped:
	default:
		errs = append(errs, fmt.Errorf("%s: status %q is not Running or Stopped", where, status))
	}
	return errs
}

func generatedID(prefix string, width, n int) string {
	return fmt.Sprintf("%s%0*d", prefix, width, n)
}

// assistantRunning reads an optional cloudAssistant field: absent means the agent runs.
func assistantRunning(v *bool) bool {
	return v == nil || *v
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
