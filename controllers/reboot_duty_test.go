package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// TestDecideRebootDuty is the table of "who reboots this instance" when several objects name
// it: at most one reboot per detach, and nobody left with a detach that never took effect.
func TestDecideRebootDuty(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	proof := func(at time.Time) *ecsv1alpha1.DetachRecord {
		return &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofAnswer, At: metav1.NewTime(at)}
	}
	peer := func(name string, reboot bool, detached string, detach *ecsv1alpha1.DetachRecord, rebooted string, requested *time.Time) peerInstance {
		s := &ecsv1alpha1.InstanceStatus{InstanceID: "i-x", Detach: detach,
			Conditions: []ecsv1alpha1.InstanceCondition{{Type: ecsv1alpha1.ConditionDetached, Reason: detached}}}
		if rebooted != "" {
			s.Conditions = append(s.Conditions, ecsv1alpha1.InstanceCondition{Type: ecsv1alpha1.ConditionRebooted, Reason: rebooted})
		}
		if requested != nil {
			s.Reboot = &ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: *requested}}
		}
		return peerInstance{name: name, kind: detachments, keyPairName: "K1", rebootEnabled: reboot, status: s}
	}
	after, before := t0.Add(time.Minute), t0.Add(-time.Minute)
	cases := []struct {
		name     string
		own      *ecsv1alpha1.DetachRecord
		peers    []peerInstance
		want     dutyKind
		wantPeer string
	}{
		{"own detach, nobody else: this object", proof(t0), nil, dutySelf, ""},
		{"nobody detached it (a person did): no reboot owed", nil, nil, dutyNone, ""},
		{"a person detached it, the peer saw it NotAttached too", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonNotAttached, nil, ecsv1alpha1.ReasonNotRequired, nil)}, dutyNone, ""},
		{"peer still settling its detach: wait, it may be the detacher", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetaching, nil, "", nil)}, dutyWaitDetach, "ns/b"},
		{"peer detached it and reboots it: wait", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonPending, nil)}, dutyWaitPeer, "ns/b"},
		{"peer is rebooting it: wait", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonRebooting, &after)}, dutyWaitPeer, "ns/b"},
		{"peer rebooted it after the detach: RebootedByOther", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonRebooted, &after)}, dutyDoneByPeer, "ns/b"},
		{"peer detached it with reboot disabled: this object reboots it", nil,
			[]peerInstance{peer("ns/b", false, ecsv1alpha1.ReasonDetached, proof(t0), "", nil)}, dutySelf, "ns/b"},
		{"own detach, but a peer with reboot disabled rebooted it earlier for this detach: done", proof(t0),
			[]peerInstance{peer("ns/b", false, ecsv1alpha1.ReasonNotAttached, nil, ecsv1alpha1.ReasonRebooted, &after)}, dutyDoneByPeer, "ns/b"},
		{"a peer's reboot from before the current detach does not count", proof(t0),
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonNotAttached, nil, ecsv1alpha1.ReasonRebooted, &before)}, dutySelf, ""},
		{"a peer's failed reboot is never repeated", nil,
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonRebootUnconfirmed, &after)}, dutyFailedByPeer, "ns/b"},
		{"a later detach by a peer (after drift) makes the peer the detacher", proof(before),
			[]peerInstance{peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonPending, nil)}, dutyWaitPeer, "ns/b"},
		{"a peer being deleted will not reboot it: this object does", nil,
			[]peerInstance{func() peerInstance {
				p := peer("ns/b", true, ecsv1alpha1.ReasonDetached, proof(t0), ecsv1alpha1.ReasonPending, nil)
				p.deleting = true
				return p
			}()}, dutySelf, "ns/b"},
		{"a mirror (RebootedByOther) is not a reboot of its own", nil,
			[]peerInstance{func() peerInstance {
				p := peer("ns/c", true, ecsv1alpha1.ReasonNotAttached, nil, ecsv1alpha1.ReasonRebootedByOther, &after)
				p.status.Reboot.By = "ns/b"
				return p
			}(), peer("ns/b", false, ecsv1alpha1.ReasonDetached, proof(t0), "", nil)}, dutySelf, "ns/b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decideRebootDuty(tc.own, tc.peers)
			if got.kind != tc.want || got.peer != tc.wantPeer {
				t.Fatalf("got duty %d (peer %q), want %d (peer %q)", got.kind, got.peer, tc.want, tc.wantPeer)
			}
		})
	}
}

// TestRebootLedger: inside one process, two objects never both win the same instance for the
// same detach, while a later detach opens a new claim.
func TestRebootLedger(t *testing.T) {
	var l rebootLedger
	detach := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	now := detach.Add(time.Second)
	if _, ok := l.claim("r", "i-x", "a", detachments, "ns/a", detach, now); !ok {
		t.Fatal("the first claim wins")
	}
	if _, ok := l.claim("r", "i-x", "a", detachments, "ns/a", detach, now); !ok {
		t.Fatal("the holder may claim again (a retried marker write)")
	}
	if holder, ok := l.claim("r", "i-x", "b", detachments, "ns/b", detach, now); ok || holder != "ns/a" {
		t.Fatalf("a second object must lose to ns/a, got %q %v", holder, ok)
	}
	if _, ok := l.claim("r", "i-x", "b", detachments, "ns/b", detach.Add(time.Hour), now.Add(time.Hour)); !ok {
		t.Fatal("a later detach (drift) opens a new claim")
	}
	l.release("r", "i-x", "b")
	if _, ok := l.claim("r", "i-x", "a", detachments, "ns/a", detach.Add(time.Hour), now.Add(time.Hour)); !ok {
		t.Fatal("a released claim (ECS refused the request) is free again")
	}
	l.forget("a")
	if _, ok := l.claim("r", "i-x", "c", detachments, "ns/c", detach.Add(time.Hour), now.Add(time.Hour)); !ok {
		t.Fatal("a deleted object's claims are forgotten")
	}
	if holder, ok := l.claim("r", "i-x", "d", attachments, "ns/d", detach.Add(time.Hour), now.Add(time.Hour)); ok ||
		holder != "KeyPairDetachment ns/c" {
		t.Fatalf("an attachment loses to the detachment that holds the reboot, named with its kind; got %q %v", holder, ok)
	}
}
