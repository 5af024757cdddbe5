package ecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/alibabacloud-go/tea/tea"
)

// Codes this package reports for failures that did not come from ECS, so that callers, events
// and metrics can name them like ECS codes.
const (
	// CodeNoInstanceResult is set on an InstanceResult when ECS answered a batch call without an
	// entry for that instance. Nothing says whether ECS acted on it, so it is retryable; for a
	// reboot, observe the instance (status, StartTime) before asking again.
	CodeNoInstanceResult = "NoInstanceResult"
	// CodeBatchTooLarge: the caller passed more IDs than ECS accepts in one call; nothing was sent.
	CodeBatchTooLarge = "BatchTooLarge"
	// CodeNoIdentity: no credentials were passed and the manager has no identity of its own.
	CodeNoIdentity = "NoIdentity"
	// CodeCredentialsUnavailable: the credentials provider could not produce keys (an RRSA token
	// exchange refused by STS, an unreadable token file).
	CodeCredentialsUnavailable = "CredentialsUnavailable"
	// CodeNotSent: the call gave up while waiting for the client-side rate limit; nothing left
	// the process.
	CodeNotSent = "NotSent"
)

// Class says what the operator should do about an error or a per-instance result code.
type Class int

const (
	// ClassNone: no error (nil, or a per-instance success code).
	ClassNone Class = iota
	// ClassRetryable: transient; requeue with backoff and count nothing as failed.
	ClassRetryable
	// ClassCredentials: the identity is wrong or lacks permission; an object-level condition,
	// long backoff, no per-instance failure.
	ClassCredentials
	// ClassObjectTerminal: the object's spec names something that does not exist (key pair,
	// region); an object-level condition, re-checked periodically.
	ClassObjectTerminal
	// ClassInstanceTerminal: that instance fails with the code as reason; the others go on.
	ClassInstanceTerminal
	// ClassInstanceState: the instance is not in a state the call accepts (not Running);
	// re-read its status.
	ClassInstanceState
	// ClassRequestBug: the operator built a request ECS cannot accept; batching or validation
	// is broken, so retrying the same request cannot help.
	ClassRequestBug
	// ClassDryRunOK: a dry run whose permission check passed.
	ClassDryRunOK
)

func (c Class) String() string {
	switch c {
	case ClassNone:
		return "None"
	case ClassRetryable:
		return "Retryable"
	case ClassCredentials:
		return "Credentials"
	case ClassObjectTerminal:
		return "ObjectTerminal"
	case ClassInstanceTerminal:
		return "InstanceTerminal"
	case ClassInstanceState:
		return "InstanceState"
	case ClassRequestBug:
		return "RequestBug"
	case ClassDryRunOK:
		return "DryRunOK"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// codeClasses is the table of ecs-api.md, plus this package's own codes.
var codeClasses = map[string]Class{
	"Throttling":          ClassRetryable,
	"Throttling.User":     ClassRetryable,
	"Throttling.Api":      ClassRetryable,
	"Rejected.Throttling": ClassRetryable,
	"ServiceUnavailable":  ClassRetryable,
	"InternalError":       ClassRetryable,
	// Not in the table: Alibaba Cloud's generic server-side failure; also what this package
	// reports for a per-instance failure ECS gave no code for.
	"UnknownError":                        ClassRetryable,
	"LimitedOperation.ServiceUnavailable": ClassRetryable,
	"InvalidOperation.Conflict":           ClassRetryable,
	// Not in the table: a nonce collision is random, the next call draws a new one.
	"SignatureNonceUsed": ClassRetryable,
	CodeNoInstanceResult: ClassRetryable,
	CodeNotSent:          ClassRetryable,

	"InvalidAccessKeyId.NotFound": ClassCredentials,
	"SignatureDoesNotMatch":       ClassCredentials,
	"IncompleteSignature":         ClassCredentials,
	"MissingSecurityToken":        ClassCredentials,
	"Forbidden.AccessKeyDisabled": ClassCredentials,
	"Forbidden.RAM":               ClassCredentials,
	"Forbidden":                   ClassCredentials,
	"InvalidTimeStamp.Expired":    ClassCredentials,
	CodeNoIdentity:                ClassCredentials,
	CodeCredentialsUnavailable:    ClassCredentials,

	// Not in the table: an account that cannot pay refuses every change until someone pays;
	// like a permission, only the environment can fix it.
	CodeInsufficientBalance: ClassCredentials,

	"InvalidKeyPairName.NotFound": ClassObjectTerminal,
	"InvalidRegionId.NotFound":    ClassObjectTerminal,
	// DescribeCloudAssistantStatus is not offered in the spec's region.
	"RegionId.ApiNotSupported": ClassObjectTerminal,

	"DependencyViolation.WindowsInstance": ClassInstanceTerminal,
	"InvalidInstanceId.NotFound":          ClassInstanceTerminal,
	"InvalidInstanceIds.NotFound":         ClassInstanceTerminal,
	"InstanceLockedForSecurity":           ClassInstanceTerminal,
	"InstanceExpiredOrInArrears":          ClassInstanceTerminal,
	// Key pairs need an I/O optimized instance (AttachKeyPair, DetachKeyPair).
	"DependencyViolation.IoOptimize": ClassInstanceTerminal,
	// DescribeCloudAssistantStatus's answer when it finds none of the instances named.
	"InvalidInstance.NotFound":           ClassInstanceTerminal,
	"InvalidInstance.NotFoundSystemDisk": ClassInstanceTerminal,

	"IncorrectInstanceStatus": ClassInstanceState,
	// Still being created or changed; a later pass finds it ready.
	"InstanceNotReady": ClassInstanceState,

	"InvalidInstanceIds.ValueNotSupported": ClassRequestBug,
	"InstanceKeyPairLimitExceeded":         ClassRequestBug,
	"InvalidParameter.TooManyInstanceIds":  ClassRequestBug,
	"MissingParameter":                     ClassRequestBug,
	"InvalidParameter":                     ClassRequestBug,
	"InstanceIds.ExceedLimit":              ClassRequestBug, // > 100 IDs to DescribeCloudAssistantStatus
	"Abs.InvalidInstanceIds.MalFormed":     ClassRequestBug,
	CodeBatchTooLarge:                      ClassRequestBug,

	"DryRunOperation": ClassDryRunOK,
	"DRYRUN.SUCCESS":  ClassDryRunOK,
}

// codeFamilies extends the table to whole code families the table names by example: new
// members of these families appear without notice and mean the same thing.
var codeFamilies = []struct {
	prefix string
	class  Class
}{
	{"Throttling.", ClassRetryable},
	{"InvalidSecurityToken.", ClassCredentials},
	{"InvalidAccessKeyId.", ClassCredentials},
	{"Forbidden.", ClassCredentials},
}

func lookupCode(code string) (Class, bool) {
	if c, ok := codeClasses[code]; ok {
		return c, true
	}
	for _, f := range codeFamilies {
		if strings.HasPrefix(code, f.prefix) {
			return f.class, true
		}
	}
	return ClassNone, false
}

// IsKnownCode reports whether the classification table names code (or its family): an
// unknown per-instance code is retried a few times before it is reported as a failure.
func IsKnownCode(code string) bool {
	_, ok := lookupCode(code)
	return ok
}

// ClassifyCode classifies a per-instance result code (InstanceResult.Code). A code the table
// does not know is a per-instance failure (design.md: DetachFailed/RebootFailed with the code
// in the message), not a reason to stop the whole object.
func ClassifyCode(code string) Class {
	if code == "" || code == "200" {
		return ClassNone
	}
	if c, ok := lookupCode(code); ok {
		return c
	}
	return ClassInstanceTerminal
}

// Classify classifies an error returned by a Client, a ClientFactory or the SDK itself. Errors
// that carry no ECS code (connection refused, timeouts, context deadlines, a proxy's HTML page
// that is not JSON) are retryable, and so is an ECS code the table does not know: the workqueue's
// backoff bounds the cost, while calling it terminal could strand an object on a new transient
// code.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	if code := ErrorCode(err); code != "" {
		if c, ok := lookupCode(code); ok {
			return c
		}
	}
	return ClassRetryable
}

// NeverSent reports whether err proves that the request never left this process: a decision
// of this package (a batch too large, a rate-limit wait given up) or a failed dial, which
// happens before any byte is written. Only then may a non-idempotent call be repeated; a
// timeout or a reset connection says nothing about whether ECS acted.
func NeverSent(err error) bool {
	if err == nil {
		return false
	}
	var le *localError
	if errors.As(err, &le) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// CodeInsufficientBalance is ECS's refusal of every billable change on an account in arrears.
const CodeInsufficientBalance = "InsufficientBalance"

// IsPermissionDenied reports whether ECS refused the call because the identity's RAM policy
// does not allow it, as opposed to credentials ECS does not accept at all: the identity works,
// it may just not do this.
func IsPermissionDenied(err error) bool {
	code := ErrorCode(err)
	return code == "Forbidden" || code == "Forbidden.RAM" || code == "Forbidden.NotAuthorized" ||
		strings.HasPrefix(code, "Forbidden.RAM.") || strings.HasPrefix(code, "NoPermission")
}

// IsThrottling reports whether ECS (not the client-side limiter) refused the call for rate.
func IsThrottling(err error) bool {
	code := ErrorCode(err)
	return code == "Throttling" || code == "Rejected.Throttling" || strings.HasPrefix(code, "Throttling.")
}

// ErrorCode returns the ECS error code of err, this package's code for local failures, or ""
// when err carries none (transport failures).
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	var le *localError
	if errors.As(err, &le) {
		return le.code
	}
	var se *tea.SDKError
	if errors.As(err, &se) {
		return tea.StringValue(se.Code)
	}
	return ""
}

// RequestID returns the ECS RequestId of a failed call, "" when ECS never answered.
func RequestID(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RequestID
	}
	var se *tea.SDKError
	if errors.As(err, &se) {
		return sdkErrorBody(se).RequestID
	}
	return ""
}

// APIError is an error answer from ECS. Its text carries the action, code, HTTP status, request
// ID and ECS's message, and never the request itself, signatures or keys.
type APIError struct {
	Action     string
	Code       string
	Message    string
	RequestID  string
	StatusCode int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ecs %s: %s", e.Action, e.Code)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", request id %s", e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// localError is a failure decided in this package, with a code of its own.
type localError struct {
	code string
	msg  string
	err  error
}

func (e *localError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *localError) Unwrap() error { return e.err }

type errorBody struct {
	RequestID string `json:"RequestId"`
	Message   string `json:"Message"`
}

// sdkErrorBody reads the ECS error body the SDK keeps as JSON text in Data.
func sdkErrorBody(se *tea.SDKError) errorBody {
	var raw map[string]any
	if se.Data == nil || json.Unmarshal([]byte(*se.Data), &raw) != nil {
		return errorBody{}
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			if s, ok := raw[k].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	return errorBody{RequestID: str("RequestId", "requestId"), Message: str("Message", "message")}
}

// maxMessage bounds ECS messages copied into errors: they end up in status conditions.
const maxMessage = 300

// sanitizeMessage drops what an ECS message may echo of the request: signature mismatch answers
// quote the server's string to sign.
func sanitizeMessage(msg string, secrets ...string) string {
	lower := strings.ToLower(msg)
	for _, marker := range []string{"string to sign", "stringtosign", "canonical"} {
		if i := strings.Index(lower, marker); i >= 0 {
			// Keep the sentences before the one that quotes the request.
			keep := msg[:i]
			if j := strings.LastIndex(keep, ". "); j >= 0 {
				keep = keep[:j+1]
			}
			msg = strings.TrimSpace(keep) + " [request details removed]"
			lower = strings.ToLower(msg)
		}
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	return msg
}

// wrapCallError turns whatever the SDK returned into an error safe to show: an *APIError for
// ECS answers, the transport error with the request URL reduced to scheme and host otherwise.
func wrapCallError(action string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var le *localError
	if errors.As(err, &le) {
		return fmt.Errorf("ecs %s: %w", action, err)
	}
	var se *tea.SDKError
	if errors.As(err, &se) && tea.StringValue(se.Code) != "" {
		body := sdkErrorBody(se)
		return &APIError{
			Action:     action,
			Code:       tea.StringValue(se.Code),
			Message:    sanitizeMessage(body.Message, secrets...),
			RequestID:  body.RequestID,
			StatusCode: tea.IntValue(se.StatusCode),
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("ecs %s: %w", action, &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err})
	}
	return fmt.Errorf("ecs %s: %w", action, err)
}

// redactURL keeps scheme, host and path: the query names the request's parameters and, with
// the legacy signature, the signature itself.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
