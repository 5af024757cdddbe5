package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
)

func TestClassifyCodeTable(t *testing.T) {
	cases := map[Class][]string{
		ClassRetryable: {"Throttling", "Throttling.User", "Throttling.Api", "Rejected.Throttling",
			"ServiceUnavailable", "InternalError", "LimitedOperation.ServiceUnavailable",
			"InvalidOperation.Conflict", "SignatureNonceUsed", "UnknownError", CodeNoInstanceResult,
			"Throttling.Something"},
		ClassCredentials: {"InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch", "IncompleteSignature",
			"InvalidSecurityToken.Expired", "InvalidSecurityToken.Malformed", "InvalidSecurityToken.MismatchWithAccessKey",
			"MissingSecurityToken", "Forbidden.AccessKeyDisabled", "Forbidden.RAM", "Forbidden",
			"InvalidTimeStamp.Expired", "InvalidAccessKeyId.Inactive", "Forbidden.SubUser",
			CodeNoIdentity, CodeCredentialsUnavailable, "InsufficientBalance"},
		ClassObjectTerminal: {"InvalidKeyPairName.NotFound", "InvalidRegionId.NotFound", "RegionId.ApiNotSupported"},
		ClassInstanceTerminal: {"DependencyViolation.WindowsInstance", "InvalidInstanceId.NotFound",
			"InvalidInstanceIds.NotFound", "InstanceLockedForSecurity", "InstanceExpiredOrInArrears",
			"DependencyViolation.IoOptimize", "InvalidInstance.NotFound", "InvalidInstance.NotFoundSystemDisk"},
		ClassInstanceState: {"IncorrectInstanceStatus", "InstanceNotReady"},
		ClassRequestBug: {"InvalidInstanceIds.ValueNotSupported", "InstanceKeyPairLimitExceeded",
			"InvalidParameter.TooManyInstanceIds", "MissingParameter", "InvalidParameter", CodeBatchTooLarge,
			"InstanceIds.ExceedLimit", "Abs.InvalidInstanceIds.MalFormed"},
		ClassDryRunOK: {"DryRunOperation", "DRYRUN.SUCCESS"},
	}
	for want, codes := range cases {
		for _, code := range codes {
			if got := ClassifyCode(code); got != want {
				t.Errorf("ClassifyCode(%q) = %v, want %v", code, got, want)
			}
			// The same code as a whole-call error answer.
			if got := Classify(sdkError(400, code, "msg", "RID")); got != want {
				t.Errorf("Classify(SDKError %q) = %v, want %v", code, got, want)
			}
		}
	}
}

func TestClassifyCodeDefaults(t *testing.T) {
	for _, code := range []string{"", "200"} {
		if got := ClassifyCode(code); got != ClassNone {
			t.Errorf("ClassifyCode(%q) = %v, want None", code, got)
		}
	}
	// An unknown per-instance code fails that instance only; an unknown whole-call code is
	// retried.
	if got := ClassifyCode("Something.New"); got != ClassInstanceTerminal {
		t.Errorf("unknown per-instance code: %v", got)
	}
	if got := Classify(sdkError(400, "Something.New", "", "")); got != ClassRetryable {
		t.Errorf("unknown call code: %v", got)
	}
}

func TestClassifyNonSDKErrors(t *testing.T) {
	syntaxErr := json.Unmarshal([]byte("<html>502 Bad Gateway</html>"), new(any))
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ClassNone},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ClassRetryable},
		{"url error", &url.Error{Op: "Post", URL: "http://x/?a=b", Err: io.ErrUnexpectedEOF}, ClassRetryable},
		{"deadline", context.DeadlineExceeded, ClassRetryable},
		{"canceled", fmt.Errorf("wrapped: %w", context.Canceled), ClassRetryable},
		{"json syntax", syntaxErr, ClassRetryable},
		{"sdk error without code", &tea.SDKError{Message: tea.String("x")}, ClassRetryable},
		{"batch too large", batchTooLarge("DetachKeyPair", 51, 50), ClassRequestBug},
		{"wrapped api error", fmt.Errorf("ctx: %w", &APIError{Code: "Forbidden.RAM"}), ClassCredentials},
		{"no identity", &localError{code: CodeNoIdentity, msg: "none"}, ClassCredentials},
	}
	for _, tc := range cases {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestErrorCodeRequestIDThrottling(t *testing.T) {
	se := sdkError(400, "Throttling.User", "Request was denied due to user flow control.", "81EF1E7D-AA")
	if got := ErrorCode(se); got != "Throttling.User" {
		t.Errorf("ErrorCode = %q", got)
	}
	if got := RequestID(se); got != "81EF1E7D-AA" {
		t.Errorf("RequestID = %q", got)
	}
	if !IsThrottling(se) || !IsThrottling(sdkError(400, "Rejected.Throttling", "", "")) {
		t.Error("IsThrottling = false for throttling codes")
	}
	if IsThrottling(sdkError(503, "ServiceUnavailable", "", "")) || IsThrottling(context.DeadlineExceeded) {
		t.Error("IsThrottling = true for non-throttling errors")
	}
	wrapped := wrapCallError("DetachKeyPair", se)
	var ae *APIError
	if !errors.As(wrapped, &ae) || ae.Code != "Throttling.User" || ae.RequestID != "81EF1E7D-AA" || ae.StatusCode != 400 {
		t.Errorf("wrapCallError = %#v", wrapped)
	}
	if ErrorCode(context.Canceled) != "" || RequestID(context.Canceled) != "" {
		t.Error("code or request id for a transport error")
	}
}

func TestWrapCallErrorHidesRequestDetails(t *testing.T) {
	const secret = "s3cr3t-value"
	se := sdkError(400, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAI&Signature%3Dabc "+secret, "RID-1")
	msg := wrapCallError("DescribeInstances", se, secret).Error()
	for _, bad := range []string{"string to sign", "Signature%3D", secret, "AccessKeyId%3D"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error text %q contains %q", msg, bad)
		}
	}
	if !strings.Contains(msg, "SignatureDoesNotMatch") || !strings.Contains(msg, "RID-1") {
		t.Errorf("error text %q lacks code or request id", msg)
	}

	ue := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/?Signature=abc&InstanceIds=x", Err: syscall.ECONNREFUSED}
	msg = wrapCallError("DescribeInstances", ue).Error()
	if strings.Contains(msg, "Signature") || strings.Contains(msg, "?") {
		t.Errorf("transport error text %q keeps the query", msg)
	}
	if !errors.Is(wrapCallError("X", ue), syscall.ECONNREFUSED) {
		t.Error("transport error cause lost")
	}
	long := strings.Repeat("x", 2*maxMessage)
	if got := sanitizeMessage(long); len(got) > maxMessage+3 {
		t.Errorf("message not bounded: %d", len(got))
	}
}

// sdkError builds the error the SDK returns for an ECS error body, as dara.TeaSDKError does.
func sdkError(status int, code, message, requestID string) *tea.SDKError {
	return tea.NewSDKError(map[string]any{
		"code":       code,
		"statusCode": status,
		"message":    fmt.Sprintf("code: %d, %s request id: %s", status, message, requestID),
		"data": map[string]any{
			"RequestId": requestID, "HostId": "ecs.cn-hangzhou.aliyuncs.com",
			"Code": code, "Message": message, "statusCode": status,
		},
	})
}

// TestIsPermissionDenied: a RAM policy that does not allow the action, not credentials ECS
// rejects, and not any other refusal.
func TestIsPermissionDenied(t *testing.T) {
	for code, want := range map[string]bool{
		"Forbidden.RAM": true, "Forbidden": true, "Forbidden.NotAuthorized": true, "NoPermission": true,
		"NoPermission.RebootInstances": true,
		"Forbidden.AccessKeyDisabled":  false, "InvalidAccessKeyId.NotFound": false, "InsufficientBalance": false,
		"IncorrectInstanceStatus": false, "Throttling.User": false,
	} {
		if got := IsPermissionDenied(sdkError(403, code, "", "")); got != want {
			t.Errorf("IsPermissionDenied(%s) = %v, want %v", code, got, want)
		}
	}
	if IsPermissionDenied(context.DeadlineExceeded) {
		t.Error("a transport error is not a permission denial")
	}
}
