package v1alpha1

// Condition types, on the object and (Detached or Attached, Rebooted) on each instance.
const (
	// ConditionReady is True when nothing is left to do and nothing failed.
	ConditionReady = "Ready"
	// ConditionDetached is True when the key pair is off the instance (or every instance).
	ConditionDetached = "Detached"
	// ConditionAttached is True when the key pair is on the instance (or every instance): a
	// KeyPairAttachment's counterpart of Detached.
	ConditionAttached = "Attached"
	// ConditionRebooted is True when the reboot that makes the detach take effect is done.
	ConditionRebooted = "Rebooted"
	// ConditionStalled is True when no progress is possible without a human.
	ConditionStalled = "Stalled"
	// ConditionPreflightPassed says whether the checks made before anything is changed passed:
	// the reboot permission and state (RebootInstances DryRun) and a way in after the key is
	// gone (Cloud Assistant).
	ConditionPreflightPassed = "PreflightPassed"
)

// Per-instance reasons of spec.mode Plan, the pre-flight and the reboot window.
const (
	// ReasonWouldDetach (Detached=Unknown, Plan only): carries the key pair; an Apply detaches it.
	ReasonWouldDetach = "WouldDetach"
	// ReasonWouldReboot (Rebooted=Unknown, Plan only): an Apply reboots it.
	ReasonWouldReboot = "WouldReboot"
	// ReasonNoAlternateAccess (Detached=False): spec.requireAlternateAccess and no running Cloud
	// Assistant agent: the key is left on.
	ReasonNoAlternateAccess = "NoAlternateAccess"
	// ReasonWaitingForWindow (Rebooted=Unknown, and Ready=False): the reboot is due but
	// spec.reboot.window is closed; it starts at the next opening.
	ReasonWaitingForWindow = "WaitingForWindow"
)

// Reasons of the object's PreflightPassed condition.
const (
	// ReasonPreflightOK (True): the reboot dry run passed and every instance to detach has a
	// way in left (or none needs one).
	ReasonPreflightOK = "Passed"
	// ReasonNothingToCheck (True): no instance carries the key pair; nothing would be changed.
	ReasonNothingToCheck = "NothingToCheck"
	// ReasonRebootNotPermitted (False): the reboot dry run was refused for lack of permission;
	// nothing is detached until it passes, since the detach would never take effect.
	ReasonRebootNotPermitted = "RebootNotPermitted"
	// ReasonRebootRefused (False): the reboot dry run was refused for another reason (an
	// instance's state, the account's balance); the message carries the code.
	ReasonRebootRefused = "RebootRefused"
	// ReasonNoAlternateAccess (False) is shared with the per-instance reason: instances to
	// detach without a running Cloud Assistant agent.
)

// Ready=False reasons of spec.mode Plan, the pre-flight and the reboot window.
const (
	// ReasonPlanned (Ready=False, not Stalled): spec.mode is Plan; status.plan says what an
	// Apply would do.
	ReasonPlanned = "Planned"
	// ReasonPreflightFailed (Ready=False, Stalled): the pre-flight refuses the change (see the
	// PreflightPassed condition); nothing was changed.
	ReasonPreflightFailed = "PreflightFailed"
)

// Reasons of the per-instance Detached condition.
const (
	// ReasonDetached (True): this object detached the key pair from the instance.
	ReasonDetached = "Detached"
	// ReasonNotAttached (True): the key pair was not on the instance when observed.
	ReasonNotAttached = "NotAttached"
	// ReasonPending (Unknown): not tried yet.
	ReasonPending = "Pending"
	// ReasonDetaching (Unknown): detach requested; the write-ahead marker, also kept while
	// retrying a retryable error.
	ReasonDetaching = "Detaching"
	// ReasonWindowsInstance (False): Windows instances cannot carry key pairs.
	ReasonWindowsInstance = "WindowsInstance"
	// ReasonInstanceNotFound (False): no such instance in the region.
	ReasonInstanceNotFound = "InstanceNotFound"
	// ReasonKeyPairMismatch (False): the instance carries another key pair; left alone.
	ReasonKeyPairMismatch = "KeyPairMismatch"
	// ReasonInstanceLocked (False): ECS holds an operation lock on the instance.
	ReasonInstanceLocked = "InstanceLocked"
	// ReasonDetachFailed (False): any other per-instance failure; the message carries the code.
	ReasonDetachFailed = "DetachFailed"
	// ReasonClaimedByOther (False, Detached or Attached): an object that wants the opposite (the
	// other kind on the same key pair, or an attachment of another key pair) claimed the
	// instance first; left alone, and the message names that object. Remove the instance from
	// one of the two specs.
	ReasonClaimedByOther = "ClaimedByOther"
)

// Reasons of the per-instance Attached condition of a KeyPairAttachment; Pending,
// WindowsInstance, InstanceNotFound, KeyPairMismatch and InstanceLocked are shared with
// Detached.
const (
	// ReasonAttached (True): this object attached the key pair to the instance.
	ReasonAttached = "Attached"
	// ReasonAlreadyAttached (True): the instance carried the key pair when observed; no
	// reboot is owed for it.
	ReasonAlreadyAttached = "AlreadyAttached"
	// ReasonAttaching (Unknown): attach requested; the write-ahead marker.
	ReasonAttaching = "Attaching"
	// ReasonAttachFailed (False): any other per-instance failure; the message carries the code.
	ReasonAttachFailed = "AttachFailed"
	// ReasonWouldAttach (Attached=Unknown, Plan only): an Apply attaches the key pair.
	ReasonWouldAttach = "WouldAttach"
)

// Reasons of the per-instance Rebooted condition (ReasonPending is shared).
const (
	// ReasonRebooted (True): this object rebooted it and it is Running again.
	ReasonRebooted = "Rebooted"
	// ReasonRebootedByOther (True): another object rebooted it after this detach took place;
	// the message and status.instances[].reboot.by name it.
	ReasonRebootedByOther = "RebootedByOther"
	// ReasonRebootRequested (Unknown): intent recorded before the reboot call.
	ReasonRebootRequested = "RebootRequested"
	// ReasonRebooting (Unknown): ECS accepted the reboot; waiting for Running.
	ReasonRebooting = "Rebooting"
	// ReasonNotRequired (False): this object did not detach the key pair from the instance.
	ReasonNotRequired = "NotRequired"
	// ReasonInstanceStopped (False): the detach takes effect at the next start; never started by us.
	ReasonInstanceStopped = "InstanceStopped"
	// ReasonRebootFailed (False): the call failed for it, or it did not run again within timeout.
	ReasonRebootFailed = "RebootFailed"
	// ReasonRolloutHalted (False): not started because maxFailures was exceeded.
	ReasonRolloutHalted = "RolloutHalted"
	// ReasonRebootUnconfirmed (False): a request's answer was lost and ECS showed no evidence
	// either way within timeout; never asked again on a guess, a person checks it.
	ReasonRebootUnconfirmed = "RebootUnconfirmed"
)

// FinalizerRebootsInFlight holds a deleted object while its reboots settle, so that the
// instances it detached but did not reboot are named before it goes.
const FinalizerRebootsInFlight = "ecs.keypairs.dev/reboots-in-flight"

// Reasons of the object conditions. Ready=False also uses ReasonRolloutHalted, and the object's
// Detached and Rebooted conditions use the per-instance reasons where they fit.
const (
	// ReasonReady (Ready=True): every instance is done.
	ReasonReady = "Ready"
	// ReasonInProgress (Ready=False): work is left and progress is possible.
	ReasonInProgress = "InProgress"
	// ReasonPartiallyFailed (Ready=False): some instances failed terminally.
	ReasonPartiallyFailed = "PartiallyFailed"
	// ReasonCredentialsError (Ready=False): the Secret is missing or ECS rejects the credentials.
	ReasonCredentialsError = "CredentialsError"
	// ReasonManagerIdentityNotAllowed (Ready=False): the object has no credentialsSecretRef and
	// its namespace may not use the manager's own cloud identity (--manager-identity-namespaces).
	ReasonManagerIdentityNotAllowed = "ManagerIdentityNotAllowed"
	// ReasonKeyPairNotFound (Ready=False): the key pair does not exist in the region.
	ReasonKeyPairNotFound = "KeyPairNotFound"
	// ReasonSuspended (Ready=False): spec.suspend is set.
	ReasonSuspended = "Suspended"
	// ReasonAllDetached (Detached=True): every instance is Detached=True.
	ReasonAllDetached = "AllDetached"
	// ReasonAllAttached (Attached=True): every instance is Attached=True.
	ReasonAllAttached = "AllAttached"
	// ReasonAllRebooted (Rebooted=True): every instance that needs a reboot has had it.
	ReasonAllRebooted = "AllRebooted"
	// ReasonProgressing (Stalled=False): nothing needs a human; Stalled=True carries the Ready
	// reason that explains it.
	ReasonProgressing = "Progressing"
)
