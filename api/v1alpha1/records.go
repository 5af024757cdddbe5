package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// DetachProof says how an object knows that it made its change itself: a detach, or for a
// KeyPairAttachment an attach (the record keeps its name, which stored statuses carry).
// +kubebuilder:validation:Enum=Answer;SentMarker
type DetachProof string

const (
	// DetachProofAnswer: ECS answered Success for the instance to this object's DetachKeyPair
	// (AttachKeyPair).
	DetachProofAnswer DetachProof = "Answer"
	// DetachProofSentMarker: the answer was lost, but this object's Detaching marker was
	// written for a call that was sent, and the key was gone at the next observation.
	DetachProofSentMarker DetachProof = "SentMarker"
)

// DetachRecord is the typed proof of an object's own detach (attach, in a KeyPairAttachment's
// status.instances[].attach).
type DetachRecord struct {
	// Proof is how the detach is known to be this object's.
	Proof DetachProof `json:"proof"`
	// At is when the detach call was sent. A reboot requested after it, by any object, makes
	// the detach take effect.
	At metav1.Time `json:"at"`
}

// RebootRecord is the typed state of the reboot for the current detach; decisions rest on it,
// never on condition messages, and toggling reboot.enabled, halts or restarts never reset it.
type RebootRecord struct {
	// Attempts counts RebootInstances requests that may have reached ECS for the current
	// detach. A second request is sent only when the first provably never left the client.
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// RequestedAt is when the latest request's RebootRequested marker was written.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`
	// StartTimeBefore is the instance's ECS StartTime observed before the first request: a
	// later StartTime is evidence of the reboot, never the manager's clock.
	// +optional
	StartTimeBefore *metav1.Time `json:"startTimeBefore,omitempty"`
	// By names the object ("namespace/name") whose reboot counts for this instance when it is
	// not this object: the one that rebooted it, or is rebooting it.
	// +optional
	By string `json:"by,omitempty"`
}
