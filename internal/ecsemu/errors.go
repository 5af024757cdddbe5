package ecsemu

import (
	"net/http"
	"net/url"
)

// CodeKeyPairNotAttached is the per-instance code DetachKeyPair gives an instance that does not
// carry the key pair named in the call (it has another one, or none). ECS does not document this
// case; the emulator picks a distinct code so that callers cannot mistake it for success.
const CodeKeyPairNotAttached = "InvalidKeyPair.NotAttached"

// apiError is an ECS error answer: the HTTP status and the Code/Message pair the SDK turns into a
// *tea.SDKError. Messages follow the wording of the public ECS error centre where it is known.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// Authentication failures.
func errIncompleteSignature(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "IncompleteSignature", msg)
}

func errSignatureDoesNotMatch() *apiError {
	return newAPIError(http.StatusBadRequest, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation.")
}

func errAccessKeyNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
}

func errTimestampExpired() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidTimeStamp.Expired",
		"Specified time stamp or date value is expired.")
}

func errTimestampFormat() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidTimeStamp.Format",
		"Specified time stamp or date value is not well formatted.")
}

func errNonceUsed() *apiError {
	return newAPIError(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
}

func errMissingSecurityToken() *apiError {
	return newAPIError(http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
}

func errSecurityTokenMismatch() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
		"The Security Token does not match the AccessKeyId.")
}

// Routing failures.
func errActionNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidAction.NotFound",
		"Specified api is not found, please check your url and method.")
}

func errInvalidVersion() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
}

// Request and resource failures.
func errMissingParameter(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "MissingParameter",
		"The input parameter \""+name+"\" that is mandatory for processing this request is not supplied.")
}

func errInvalidParameter(name string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter", "The specified parameter \""+name+"\" is not valid.")
}

func errInvalidInstanceIDs() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidInstanceIds.ValueNotSupported",
		"The specified parameter InstanceIds is not valid.")
}

func errKeyPairLimit() *apiError {
	return newAPIError(http.StatusBadRequest, "InstanceKeyPairLimitExceeded",
		"The number of instances exceeds the limit of 50 per call.")
}

func errTooManyInstanceIDs() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameter.TooManyInstanceIds",
		"The number of instance IDs exceeds the limit of 100.")
}

func errAssistantIDsExceedLimit() *apiError {
	return newAPIError(http.StatusForbidden, "InstanceIds.ExceedLimit",
		"The number of instance IDs exceeds the upper limit of 100.")
}

func errRegionNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
}

func errKeyPairNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist.")
}

func errInstanceNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
}

func errIncorrectStatus() *apiError {
	return newAPIError(http.StatusForbidden, "IncorrectInstanceStatus",
		"The current status of the resource does not support this operation.")
}

func errWindows() *apiError {
	return newAPIError(http.StatusForbidden, "DependencyViolation.WindowsInstance",
		"The instance creating is windows, cannot use ssh key pair to login")
}

func errKeyPairNotAttached() *apiError {
	return newAPIError(http.StatusForbidden, CodeKeyPairNotAttached,
		"The specified instance is not bound to the specified key pair.")
}

// errLocked maps an operation lock to the code ECS uses for it: financial locks mean an overdue
// or expired instance, every other reason is reported as a security lock.
func errLocked(reason string) *apiError {
	if reason == "financial" {
		return newAPIError(http.StatusForbidden, "InstanceExpiredOrInArrears",
			"The specified operation is denied as your prepay instance is expired (prepay mode) or in arrears (afterpay mode).")
	}
	return newAPIError(http.StatusForbidden, "InstanceLockedForSecurity",
		"The specified operation is denied as your instance is locked for security reasons.")
}

// errForbiddenRAM is the answer to an action the caller's identity has no RAM permission for
// (an account's deny list).
func errForbiddenRAM() *apiError {
	return newAPIError(http.StatusForbidden, "Forbidden.RAM",
		"User not authorized to operate on the specified resource, or this API doesn't support RAM.")
}

func errDryRunOperation() *apiError {
	return newAPIError(http.StatusBadRequest, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
}

func errDryRunSuccess() *apiError {
	return newAPIError(http.StatusBadRequest, "DRYRUN.SUCCESS", "This request is a dryrun request with successful result.")
}

// Throttling and injected faults.
func errThrottled() *apiError {
	return newAPIError(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
}

func errServiceUnavailable() *apiError {
	return newAPIError(http.StatusServiceUnavailable, "ServiceUnavailable",
		"The request has failed due to a temporary failure of the server.")
}

func errInternal() *apiError {
	return newAPIError(http.StatusInternalServerError, "InternalError",
		"The request processing has failed due to some unknown error, exception or failure.")
}

// errorBody is the JSON error document ECS returns; the SDK reads Code, Message and RequestId
// from it and keeps the rest as SDKError.Data.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func newErrorBody(e *apiError, requestID, host string) errorBody {
	return errorBody{
		RequestID: requestID,
		HostID:    host,
		Code:      e.code,
		Message:   e.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) +
			"&product=Ecs&requestId=" + requestID,
	}
}
