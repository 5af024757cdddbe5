package v1alpha1

import (
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxInstanceMessageLength bounds a per-instance condition message, in bytes. ECS's error
// messages have no documented bound; with this one a 1,000-instance object stays under 1 MiB
// whatever ECS says (see the README's status-size figures).
const MaxInstanceMessageLength = 200

// MaxObjectMessageLength bounds an object condition's message, which may quote ECS.
const MaxObjectMessageLength = 1024

// InstanceCondition is a per-instance condition. It is metav1.Condition without what the
// object's status already says or what the instance's typed records hold: no
// observedGeneration (status.observedGeneration covers every entry) and no lastTransitionTime
// (detach.at, detachingSince and reboot.requestedAt carry the times decisions rest on). A
// message is present only when the reason alone does not say enough.
type InstanceCondition struct {
	// Type is Detached or Rebooted.
	// +kubebuilder:validation:MaxLength=32
	Type string `json:"type"`
	// Status is True, False or Unknown.
	// +kubebuilder:validation:Enum=True;False;Unknown
	Status metav1.ConditionStatus `json:"status"`
	// Reason is one of the per-instance reasons of design.md §2.
	// +kubebuilder:validation:MaxLength=64
	Reason string `json:"reason"`
	// Message, when present, is at most MaxInstanceMessageLength bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	Message string `json:"message,omitempty"`
}

// FindInstanceCondition returns the condition of type t, or nil.
func FindInstanceCondition(conditions []InstanceCondition, t string) *InstanceCondition {
	for n := range conditions {
		if conditions[n].Type == t {
			return &conditions[n]
		}
	}
	return nil
}

// SetInstanceCondition adds or replaces the condition of c's type, its message truncated.
func SetInstanceCondition(conditions *[]InstanceCondition, c InstanceCondition) {
	c.Message = TruncateMessage(c.Message, MaxInstanceMessageLength)
	if existing := FindInstanceCondition(*conditions, c.Type); existing != nil {
		*existing = c
		return
	}
	*conditions = append(*conditions, c)
}

// RemoveInstanceCondition removes the condition of type t.
func RemoveInstanceCondition(conditions *[]InstanceCondition, t string) {
	out := (*conditions)[:0]
	for _, c := range *conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	*conditions = out
}

// TruncateMessage cuts s to at most limit bytes on a rune boundary, ending in "…" when cut.
func TruncateMessage(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
