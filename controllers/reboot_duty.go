package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// dutyKind is who must reboot an instance for its current detach, as seen by one object.
type dutyKind int

const (
	// dutyNone: nobody this operator knows of detached the key (a person, or before any object
	// existed): no reboot is owed.
	dutyNone dutyKind = iota
	// dutySelf: this object reboots it: its own detach, or the detacher will not reboot it.
	dutySelf
	// dutyWaitDetach: another object naming it has not settled its detach yet; it may turn out
	// to be the detacher.
	dutyWaitDetach
	// dutyWaitPeer: another object detached it and reboots it, or is rebooting it now.
	dutyWaitPeer
	// dutyDoneByPeer: another object rebooted it after the current detach.
	dutyDoneByPeer
	// dutyFailedByPeer: another object asked for its reboot after the current detach and that
	// reboot failed or is unconfirmed: asking again could reboot it twice.
	dutyFailedByPeer
)

// rebootDuty is the outcome of decideRebootDuty.
type rebootDuty struct {
	kind dutyKind
	// peer names the other object the duty is about.
	peer string
	// detachAt is when the current detach was sent, by whichever object.
	detachAt time.Time
	// peerReboot is the peer's reboot record when a peer rebooted it or tried to.
	peerReboot *ecsv1alpha1.RebootRecord
	// peerReason is the peer's Rebooted reason, for messages.
	peerReason string
}

// decideRebootDuty says who reboots an instance. The current detach is the latest proven
// change (a detach or an attach, of any key pair), this object's (own) or a peer's, of either
// kind; a reboot any object requested after it makes every change before it take effect, so
// nobody asks for a second. Without a proven detach nobody owes a reboot, except that a peer
// which has not settled its detach may still turn out to be the detacher.
func decideRebootDuty(own *ecsv1alpha1.DetachRecord, peers []peerInstance) rebootDuty {
	detachAt, detacher := currentDetach(own, peers)
	if own == nil && detacher < 0 {
		for _, p := range peers {
			if r := p.changeReason(); r == "" || r == ecsv1alpha1.ReasonPending || r == p.kind.changing {
				return rebootDuty{kind: dutyWaitDetach, peer: p.name}
			}
		}
		return rebootDuty{kind: dutyNone}
	}
	if d, ok := peerRebootSince(detachAt, peers); ok {
		return d
	}
	d := rebootDuty{kind: dutySelf, detachAt: detachAt}
	switch {
	case detacher < 0:
	case peers[detacher].willReboot():
		d.kind, d.peer = dutyWaitPeer, peers[detacher].name
	default:
		// The detacher will not reboot it (reboot disabled, or being deleted): this object
		// asks for the reboot, so the detach does not stay without effect unnoticed.
		d.peer = peers[detacher].name
	}
	return d
}

// currentDetach is the latest proven detach: when it was sent and by whom (-1: this object,
// or nobody when own is nil and no peer has a proof).
func currentDetach(own *ecsv1alpha1.DetachRecord, peers []peerInstance) (at time.Time, detacher int) {
	detacher = -1
	if own != nil {
		at = own.At.Time
	}
	for n, p := range peers {
		if p.status != nil && p.status.Detach != nil && (at.IsZero() || p.status.Detach.At.After(at)) {
			at, detacher = p.status.Detach.At.Time, n
		}
	}
	return at, detacher
}

// peerRebootSince finds a peer's own reboot requested after the current detach: done (a
// second would be one too many), in flight (wait), or failed (asking again could reboot twice).
func peerRebootSince(detachAt time.Time, peers []peerInstance) (rebootDuty, bool) {
	var inFlight, failed *peerInstance
	for n := range peers {
		p := &peers[n]
		rec := rebootOf(p.status)
		if rec == nil || rec.By != "" || rec.RequestedAt == nil || rec.RequestedAt.Time.Before(detachAt) {
			continue // not a reboot of its own, or one from before the current detach
		}
		switch p.reason(ecsv1alpha1.ConditionRebooted) {
		case ecsv1alpha1.ReasonRebooted:
			return rebootDuty{kind: dutyDoneByPeer, peer: p.name, detachAt: detachAt, peerReboot: rec,
				peerReason: ecsv1alpha1.ReasonRebooted}, true
		case ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting:
			inFlight = p
		case ecsv1alpha1.ReasonRebootFailed, ecsv1alpha1.ReasonRebootUnconfirmed:
			failed = p
		}
	}
	kind, p := dutyWaitPeer, inFlight
	if p == nil {
		kind, p = dutyFailedByPeer, failed
	}
	if p == nil {
		return rebootDuty{}, false
	}
	return rebootDuty{kind: kind, peer: p.name, detachAt: detachAt, peerReboot: rebootOf(p.status),
		peerReason: p.reason(ecsv1alpha1.ConditionRebooted)}, true
}

func rebootOf(s *ecsv1alpha1.InstanceStatus) *ecsv1alpha1.RebootRecord {
	if s == nil {
		return nil
	}
	return s.Reboot
}

// applyDuty sets the Rebooted condition of an instance that is neither in flight nor settled
// for its current detach. It reports whether this object should reboot it.
func (run *run) applyDuty(i *instance, d rebootDuty) (due bool) {
	key := run.obj.Spec.KeyPairName
	switch d.kind {
	case dutyNone:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonNotRequired, "")
	case dutyWaitDetach:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("Waiting for %s, which also names it, to settle its change", d.peer))
	case dutyWaitPeer:
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending,
			fmt.Sprintf("%s changed its key pair after %s was %s and reboots it", d.peer, key, run.kind.past))
	case dutyDoneByPeer:
		i.status.Reboot = &ecsv1alpha1.RebootRecord{By: d.peer, RequestedAt: d.peerReboot.RequestedAt}
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionTrue, ecsv1alpha1.ReasonRebootedByOther,
			fmt.Sprintf("Rebooted by %s after %s was %s", d.peer, key, run.kind.past))
	case dutyFailedByPeer:
		i.status.Reboot = &ecsv1alpha1.RebootRecord{By: d.peer, RequestedAt: d.peerReboot.RequestedAt}
		i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonRebootFailed,
			fmt.Sprintf("%s asked for its reboot and reports %s; not asked again, which could reboot it twice", d.peer, d.peerReason))
	case dutySelf:
		if i.observed != nil && i.found && i.observed.Status == ecs.StatusStopped {
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionFalse, ecsv1alpha1.ReasonInstanceStopped, "")
			return false
		}
		if i.reason(ecsv1alpha1.ConditionRebooted) != ecsv1alpha1.ReasonRolloutHalted {
			msg := "Waiting for a reboot slot"
			if d.peer != "" {
				msg = fmt.Sprintf("%s changed its key pair but does not reboot it; this object does. Waiting for a reboot slot", d.peer)
			}
			i.set(ecsv1alpha1.ConditionRebooted, metav1.ConditionUnknown, ecsv1alpha1.ReasonPending, msg)
		}
		return true
	}
	return false
}
