// Package ecs is the operator's only door to Alibaba Cloud ECS. It speaks to the rest of the
// operator in domain terms (instances, key pairs, reboots) so that the controller never sees the
// SDK, and it owns everything that is about the cloud rather than about Kubernetes: credentials,
// error classes, the shared client-side rate limit and call metrics.
package ecs

import (
	"context"
	"time"
)

// Batch limits imposed by ECS; batching is the caller's job, the client rejects larger batches
// before they reach the cloud because ECS would refuse the whole call.
const (
	MaxDescribeIDs       = 100
	MaxDetachIDs         = 50
	MaxRebootIDs         = 100
	MaxCloudAssistantIDs = 100
)

// ECS instance statuses, spelled as ECS spells them.
const (
	StatusPending  = "Pending"
	StatusRunning  = "Running"
	StatusStarting = "Starting"
	StatusStopping = "Stopping"
	StatusStopped  = "Stopped"
)

// Instance is what the operator needs to know about one ECS instance.
type Instance struct {
	ID          string
	Status      string
	Windows     bool
	KeyPairName string
	// StartTime has minute precision on ECS; zero when ECS did not report one.
	StartTime time.Time
	// LockReasons are ECS operation locks (e.g. "security"); a locked instance refuses changes.
	LockReasons []string
}

// CanonicalStatus returns status as one of the constants above when it is one, so that
// observations kept for long share ECS's few status strings instead of holding a copy each.
func CanonicalStatus(status string) string {
	for _, known := range []string{StatusRunning, StatusStopped, StatusStopping, StatusStarting, StatusPending} {
		if status == known {
			return known
		}
	}
	return status
}

// InstanceResult is the outcome of a batch call for one instance. Code is empty on success.
type InstanceResult struct {
	InstanceID string
	Code       string
	Message    string
}

// Succeeded reports whether ECS accepted the change for this instance.
func (r InstanceResult) Succeeded() bool { return r.Code == "" }

// BatchResult is the answer to a batch call that ECS answers per instance.
type BatchResult struct {
	RequestID string
	Results   []InstanceResult
}

// Client is the narrow view of ECS the controller works with. One Client is bound to one
// region and one identity; implementations are safe for use by one goroutine at a time.
// Errors are sorted with Classify, per-instance result codes with ClassifyCode.
type Client interface {
	// DescribeInstances returns the instances among ids (at most MaxDescribeIDs) that exist in
	// the region; missing IDs are simply absent from the result.
	DescribeInstances(ctx context.Context, ids []string) ([]Instance, error)
	// KeyPairExists reports whether the named key pair exists in the region.
	KeyPairExists(ctx context.Context, keyPairName string) (bool, error)
	// DetachKeyPair detaches keyPairName from ids (at most MaxDetachIDs) and reports per instance.
	DetachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error)
	// RebootInstances reboots ids (at most MaxRebootIDs) with per-instance results
	// (BatchOptimization=SuccessFirst); forceStop maps to ForceReboot.
	RebootInstances(ctx context.Context, ids []string, forceStop bool) (BatchResult, error)
	// CloudAssistantStatus reports, for the instances among ids (at most MaxCloudAssistantIDs)
	// that ECS answers for, whether their Cloud Assistant agent is running (a heartbeat in the
	// last two minutes); instances absent from the answer are absent from the map.
	CloudAssistantStatus(ctx context.Context, ids []string) (map[string]bool, error)
	// RebootDryRun asks ECS whether rebooting ids (at most MaxRebootIDs) all together would be
	// accepted now: permission, existence, status and locks. nil means it would; otherwise the
	// error is the one the real call would get (Classify, ErrorCode). It never reboots.
	RebootDryRun(ctx context.Context, ids []string, forceStop bool) error
	// AttachKeyPair binds keyPairName to ids (at most MaxDetachIDs), replacing any key they
	// carry, and reports per instance; the change takes effect at the next start.
	AttachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error)
	// AwaitBudget waits for the shared client-side budget and keeps the permit for this
	// client's next call, which then leaves at once. A caller that must record an intent just
	// before a call (a reboot marker) waits here first, so that a crash cannot fall between
	// the intent and a call still queued behind the rate limit.
	AwaitBudget(ctx context.Context) error
}

// Credentials are static keys read from a Secret. SecurityToken is set for STS identities.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String never prints the secret parts, so credentials are safe to pass to loggers by mistake.
func (c Credentials) String() string {
	return "Credentials{AccessKeyID: " + c.AccessKeyID + ", <redacted>}"
}

// ClientFactory builds clients. creds nil means the manager's own identity (environment keys
// or RRSA/OIDC), never the node's metadata role.
type ClientFactory interface {
	ForRegion(ctx context.Context, regionID string, creds *Credentials) (Client, error)
}
