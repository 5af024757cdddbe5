package controllers

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// TestKindWants is the table of which instances qualify for each kind's change: the only
// decision, besides the ECS call, that differs between a detachment and an attachment.
func TestKindWants(t *testing.T) {
	kpd := detachments.view(unitObject("d", []string{"i-a"}, false), nil)
	kpa := func(replace ...string) *subject {
		obj := unitAttachment("a", []string{"i-a"}, false, replace...)
		obj.Spec.KeyPairName = "K1"
		return attachments.view(obj, nil)
	}
	cases := []struct {
		name     string
		obj      *subject
		carries  string
		previous string
		want     want
	}{
		{"detach: carries K1", kpd, "K1", ecsv1alpha1.ReasonPending, wantChange},
		{"detach: no key", kpd, "", ecsv1alpha1.ReasonPending, wantNothing},
		{"detach: another key, never seen without K1: mismatch", kpd, "K3", ecsv1alpha1.ReasonPending, wantMismatch},
		{"detach: another key after this object detached K1 (a rotation): still done", kpd, "K2", ecsv1alpha1.ReasonDetached, wantNothing},
		{"detach: another key after K1 was seen off: still done", kpd, "K2", ecsv1alpha1.ReasonNotAttached, wantNothing},
		{"detach: another key, already a mismatch: stays one", kpd, "K3", ecsv1alpha1.ReasonKeyPairMismatch, wantMismatch},
		{"attach K1: carries K1", kpa(), "K1", ecsv1alpha1.ReasonPending, wantNothing},
		{"attach K1: no key gets it", kpa(), "", ecsv1alpha1.ReasonPending, wantChange},
		{"attach K1: another key, nothing to replace", kpa(), "K0", ecsv1alpha1.ReasonPending, wantMismatch},
		{"attach K1 replacing K0: rotation", kpa("K0"), "K0", ecsv1alpha1.ReasonPending, wantChange},
		{"attach K1 replacing K0: K3 left alone", kpa("K0"), "K3", ecsv1alpha1.ReasonPending, wantMismatch},
		{"attach K1 replacing any", kpa("*"), "K3", ecsv1alpha1.ReasonPending, wantChange},
		{"attach K1 replacing K0: replaced since by K3 (not ours): left alone", kpa("K0"), "K3", ecsv1alpha1.ReasonAttached, wantMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.obj.kind.wants(tc.obj, &ecs.Instance{ID: "i-a", KeyPairName: tc.carries}, tc.previous)
			if got != tc.want {
				t.Fatalf("wants = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestOpposingHolder is the cross-kind claim decision: a detachment and an attachment of the
// same key pair on one instance; whoever holds it first keeps it.
func TestOpposingHolder(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	self := claimant{kind: attachments, keyPairName: "K1", name: "ns/a", created: t0}
	holding := func(s claimant) claimant { s.holds = true; return s }
	peer := func(k *kind, key, reason string, created time.Time) peerInstance {
		p := peerInstance{name: k.name + " ns/p", uid: "uid-p", kind: k, keyPairName: key, created: created}
		if reason != "" {
			p.status = &ecsv1alpha1.InstanceStatus{InstanceID: "i-a",
				Conditions: []ecsv1alpha1.InstanceCondition{{Type: k.condition, Reason: reason}}}
		}
		return p
	}
	ledgerOf := func(k *kind, key string) *changeClaim {
		return &changeClaim{owner: "uid-p", kind: k, ref: types.NamespacedName{Namespace: "ns", Name: "p"}, keyPairName: key}
	}
	cases := []struct {
		name    string
		self    claimant
		peers   []peerInstance
		ledger  *changeClaim
		claimed bool
	}{
		{"nobody else", self, nil, nil, false},
		{"a detachment of the same key detached it: claimed", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonDetached, t0)}, nil, true},
		{"a detachment saw it without the key: claimed", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonNotAttached, t0)}, nil, true},
		{"a detachment's marker is out: claimed", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonDetaching, t0)}, nil, true},
		{"a detachment left it alone for this object: free", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonClaimedByOther, t0)}, nil, false},
		{"a detachment found a mismatch: free", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonKeyPairMismatch, t0)}, nil, false},
		{"a detachment of another key (a rotation's K1): not opposed", self,
			[]peerInstance{peer(detachments, "K0", ecsv1alpha1.ReasonDetached, t0)}, nil, false},
		{"another attachment of the same key: not opposed", self,
			[]peerInstance{peer(attachments, "K1", ecsv1alpha1.ReasonAttached, t0)}, nil, false},
		{"an attachment of another key put it on: claimed (each would replace the other's)", self,
			[]peerInstance{peer(attachments, "K9", ecsv1alpha1.ReasonAttached, t0)}, nil, true},
		{"an attachment of another key found it on already: claimed", self,
			[]peerInstance{peer(attachments, "K9", ecsv1alpha1.ReasonAlreadyAttached, t0)}, nil, true},
		{"an attachment of another key left it alone for this object: free", self,
			[]peerInstance{peer(attachments, "K9", ecsv1alpha1.ReasonClaimedByOther, t0)}, nil, false},
		{"both hold it (a race across a restart): the older keeps it", holding(self),
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonDetached, t0.Add(-time.Hour))}, nil, true},
		{"both hold it: this object is older", holding(self),
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonDetached, t0.Add(time.Hour))}, nil, false},
		{"the peer's status says nothing yet, the ledger says it holds it", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonPending, t0)}, ledgerOf(detachments, "K1"), true},
		{"the ledger's holder is not in the cache yet", self, nil, ledgerOf(detachments, "K1"), true},
		{"the ledger's holder, but this object's status holds it", holding(self),
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonPending, t0)}, ledgerOf(detachments, "K1"), false},
		{"the ledger's holder left it alone since", self,
			[]peerInstance{peer(detachments, "K1", ecsv1alpha1.ReasonClaimedByOther, t0)}, ledgerOf(detachments, "K1"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, claimed := opposingHolder(tc.self, tc.peers, tc.ledger)
			if claimed != tc.claimed {
				t.Fatalf("claimed = %v (%+v), want %v", claimed, h, tc.claimed)
			}
			if !claimed {
				return
			}
			// Every case that claims has one opposing object: the first peer, or the ledger's.
			wantKind, wantKey := func() (*kind, string) {
				if len(tc.peers) > 0 {
					return tc.peers[0].kind, tc.peers[0].keyPairName
				}
				return tc.ledger.kind, tc.ledger.keyPairName
			}()
			if h.kind != wantKind || h.keyPairName != wantKey {
				t.Fatalf("holder %+v, want the %s of %s", h, wantKind.name, wantKey)
			}
		})
	}
}

// TestAttachmentPass: one pass of a rotation to K2 replacing K1 over every kind of instance:
// one AttachKeyPair for those that qualify, each other instance with its reason, and the
// status in the attachment's own names.
func TestAttachmentPass(t *testing.T) {
	w := newWorld([]string{"i-k1", "i-k3", "i-none", "i-k2", "i-win"})
	w.key["i-k3"], w.key["i-none"], w.key["i-k2"] = "K3", "", "K2"
	windows := map[string]bool{"i-win": true}
	var attached [][]string
	cloud := &fakeECS{t: t,
		DescribeInstancesFn: func(ids []string) ([]ecs.Instance, error) {
			out, err := w.describe(ids)
			for n := range out {
				out[n].Windows = windows[out[n].ID]
			}
			return out, err
		},
		AttachKeyPairFn: func(key string, ids []string) (ecs.BatchResult, error) {
			attached = append(attached, ids)
			res := ecs.BatchResult{RequestID: "REQ-A"}
			for _, id := range ids {
				w.key[id] = key
				res.Results = append(res.Results, ecs.InstanceResult{InstanceID: id})
			}
			return res, nil
		}}
	kpa := unitAttachment("rotate", []string{"i-k1", "i-k3", "i-none", "i-k2", "i-win"}, false, "K1")
	rs := unitReconcilers(t, (&unitClock{t: bootedAt}).now, cloud, kpa)

	got := attachPass(t, rs.Attachments, kpa)

	if want := [][]string{{"i-k1", "i-none"}}; !reflect.DeepEqual(attached, want) {
		t.Fatalf("AttachKeyPair calls %v, want %v", attached, want)
	}
	want := map[string]string{"i-k1": "True/Attached", "i-none": "True/Attached", "i-k2": "True/AlreadyAttached",
		"i-k3": "False/KeyPairMismatch", "i-win": "False/WindowsInstance"}
	for id, reason := range want {
		if r := attachmentReason(got, id); r != reason {
			t.Errorf("%s: Attached=%s, want %s", id, r, reason)
		}
	}
	if s := got.Status.Summary; s != (ecsv1alpha1.AttachmentSummary{Total: 5, Attached: 3, Failed: 2}) {
		t.Errorf("summary %+v", s)
	}
	for _, s := range got.Status.Instances {
		if (s.Attach != nil) != (s.InstanceID == "i-k1" || s.InstanceID == "i-none") {
			t.Errorf("%s: attach record %+v", s.InstanceID, s.Attach)
		}
	}
	if c := objectConditionOf(got.Status.Conditions, ecsv1alpha1.ConditionAttached); c != "False/PartiallyFailed" {
		t.Errorf("object Attached = %s", c)
	}
}

// TestClaimedByOtherPass: a detachment holds the instance; an attachment of the same key that
// names it later leaves it alone and names the detachment, and the detachment then names it.
func TestClaimedByOtherPass(t *testing.T) {
	w := newWorld([]string{"i-a"})
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }}
	kpd := unitObject("retire", []string{"i-a"}, false)
	kpa := unitAttachment("keep", []string{"i-a"}, false)
	kpa.Spec.KeyPairName = "K1"
	rs := unitReconcilers(t, (&unitClock{t: bootedAt}).now, cloud, kpd, kpa)

	if d, _, _ := unitPass(t, rs.Detachments, kpd); reasonOf(t, d, "i-a", ecsv1alpha1.ConditionDetached) != "True/Detached" {
		t.Fatalf("the detachment detached it first: %+v", d.Status.Instances)
	}
	a := attachPass(t, rs.Attachments, kpa)
	if r := attachmentReason(a, "i-a"); r != "False/ClaimedByOther" {
		t.Fatalf("Attached=%s, want False/ClaimedByOther", r)
	}
	if msg := a.Status.Instances[0].Conditions[0].Message; !strings.Contains(msg, "KeyPairDetachment ns/retire") {
		t.Errorf("the message names the detachment: %q", msg)
	}
	if cloud.calls["AttachKeyPair"] != 0 || w.key["i-a"] != "" {
		t.Errorf("the attachment acted: %v, key %q", cloud.calls, w.key["i-a"])
	}
	d, _, _ := unitPass(t, rs.Detachments, kpd)
	if msg := messageOf(t, d, "i-a", ecsv1alpha1.ConditionDetached); !strings.Contains(msg, "KeyPairAttachment ns/keep") {
		t.Errorf("the detachment names the attachment that left it alone: %q", msg)
	}
	if by := instanceOf(t, d, "i-a").LeftAloneBy; !slices.Equal(by, []string{"KeyPairAttachment ns/keep"}) {
		t.Errorf("leftAloneBy %v, want the attachment, as typed data", by)
	}

	// The attachment stops naming the instance: the note goes, from the typed record, and
	// the detachment's own state is untouched.
	stored := &ecsv1alpha1.KeyPairAttachment{}
	if err := rs.Attachments.Get(t.Context(), client.ObjectKeyFromObject(kpa), stored); err != nil {
		t.Fatal(err)
	}
	stored.Spec.InstanceIDs = []string{"i-b"}
	if err := rs.Attachments.Update(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	d, _, _ = unitPass(t, rs.Detachments, kpd)
	if s := instanceOf(t, d, "i-a"); len(s.LeftAloneBy) != 0 || messageOf(t, d, "i-a", ecsv1alpha1.ConditionDetached) != "" ||
		reasonOf(t, d, "i-a", ecsv1alpha1.ConditionDetached) != "True/Detached" {
		t.Errorf("after the attachment let go: %+v", s)
	}
}

// TestAttachmentStatusRoundTrip: the attachment's status reaches the phases in the shared
// shape and goes back in its own names, whole.
func TestAttachmentStatusRoundTrip(t *testing.T) {
	at := metav1.NewTime(bootedAt)
	kpa := unitAttachment("a", []string{"i-a"}, true)
	kpa.Status = ecsv1alpha1.KeyPairAttachmentStatus{ObservedGeneration: 3,
		Conditions: []metav1.Condition{{Type: ecsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready"}},
		Summary:    ecsv1alpha1.AttachmentSummary{Total: 1, Attached: 1, Rebooted: 1},
		Plan:       &ecsv1alpha1.Plan{Generation: 3, Changes: 1, Summary: "attach 1 (1 calls)"},
		Instances: []ecsv1alpha1.AttachmentInstanceStatus{{InstanceID: "i-a", LastRequestID: "R",
			Attach: &ecsv1alpha1.DetachRecord{Proof: ecsv1alpha1.DetachProofAnswer, At: at}, AttachingSince: &at, AttachRetries: 2,
			LeftAloneBy: []string{"KeyPairDetachment ns/retire"},
			Reboot:      &ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &at},
			Conditions:  []ecsv1alpha1.InstanceCondition{{Type: ecsv1alpha1.ConditionAttached, Status: metav1.ConditionTrue, Reason: "Attached"}}}},
	}
	want := kpa.Status.DeepCopy()
	v := attachments.view(kpa, nil)
	if v.Status.Instances[0].Detach == nil || v.Status.Summary.Detached != 1 || v.Status.Instances[0].DetachRetries != 2 {
		t.Fatalf("shared shape %+v", v.Status)
	}
	kpa.Status = ecsv1alpha1.KeyPairAttachmentStatus{}
	v.flush()
	if !reflect.DeepEqual(&kpa.Status, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", kpa.Status, *want)
	}
}

func unitAttachment(name string, ids []string, reboot bool, replace ...string) *ecsv1alpha1.KeyPairAttachment {
	d := unitObject(name, ids, reboot)
	d.Spec.KeyPairName = "K2"
	return &ecsv1alpha1.KeyPairAttachment{ObjectMeta: d.ObjectMeta,
		Spec: ecsv1alpha1.KeyPairAttachmentSpec{KeyPairDetachmentSpec: d.Spec, ReplaceKeyPairs: replace}}
}

// attachPass reconciles kpa once and returns what the fake API server then holds, every
// per-instance condition checked against the reason table.
func attachPass(t *testing.T, r *Reconciler, kpa *ecsv1alpha1.KeyPairAttachment) *ecsv1alpha1.KeyPairAttachment {
	t.Helper()
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(kpa)}); err != nil {
		t.Fatal(err)
	}
	got := &ecsv1alpha1.KeyPairAttachment{}
	if err := r.Get(context.Background(), client.ObjectKeyFromObject(kpa), got); err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Status.Instances {
		for _, c := range s.Conditions {
			if info, ok := ecsv1alpha1.InstanceReasons[c.Type][c.Reason]; !ok || info.Status != c.Status {
				t.Errorf("%s: %s=%s/%s is not in the reason table with that status", s.InstanceID, c.Type, c.Status, c.Reason)
			}
		}
	}
	return got
}

func attachmentReason(kpa *ecsv1alpha1.KeyPairAttachment, id string) string {
	for _, s := range kpa.Status.Instances {
		if s.InstanceID == id {
			if c := ecsv1alpha1.FindInstanceCondition(s.Conditions, ecsv1alpha1.ConditionAttached); c != nil {
				return string(c.Status) + "/" + c.Reason
			}
		}
	}
	return "<none>"
}

func objectConditionOf(conditions []metav1.Condition, t string) string {
	i := slices.IndexFunc(conditions, func(c metav1.Condition) bool { return c.Type == t })
	if i < 0 {
		return "<none>"
	}
	return string(conditions[i].Status) + "/" + conditions[i].Reason
}

// TestClaimLedger: inside one process the first object of a kind to classify an instance holds
// it against the other kind until it lets go: released, no longer named, or deleted.
func TestClaimLedger(t *testing.T) {
	var l claimLedger
	d := changeClaim{owner: "d", kind: detachments, ref: types.NamespacedName{Namespace: "ns", Name: "d"}, keyPairName: "K1"}
	a := changeClaim{owner: "a", kind: attachments, ref: types.NamespacedName{Namespace: "ns", Name: "a"}, keyPairName: "K1"}
	self := claimant{kind: attachments, keyPairName: "K1", name: "ns/a"}
	decide := func(current *changeClaim) (holder, bool) { return opposingHolder(self, nil, current) }
	taken := func() bool { _, claimed := l.take("r/i-x/K1", a, decide); return claimed }

	if _, claimed := l.take("r/i-x/K1", d, func(*changeClaim) (holder, bool) { return holder{}, false }); claimed {
		t.Fatal("the first object holds the instance")
	}
	if !taken() {
		t.Fatal("the attachment must see the detachment's claim")
	}
	l.retain("d", func(key string) bool { return key == "r/i-x/K1" })
	if !taken() {
		t.Fatal("retain keeps the claims on instances still named")
	}
	l.retain("d", func(string) bool { return false })
	if taken() {
		t.Fatal("a claim on an instance no longer named is dropped; the attachment holds it now")
	}
	l.forget("a")
	if _, claimed := l.take("r/i-x/K1", d, func(*changeClaim) (holder, bool) { return holder{}, false }); claimed {
		t.Fatal("a deleted object's claims are forgotten")
	}
}

// TestAttachingAStoppedInstance: a stopped instance gets the key, which takes effect at its
// next start, and is never started or rebooted by the operator.
func TestAttachingAStoppedInstance(t *testing.T) {
	w := newWorld([]string{"i-up", "i-down"})
	w.status["i-down"] = ecs.StatusStopped
	cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
		AttachKeyPairFn: func(key string, ids []string) (ecs.BatchResult, error) {
			for _, id := range ids {
				w.key[id] = key
			}
			return allSucceed(ids), nil
		},
		RebootInstancesFn: func(ids []string, _ bool) (ecs.BatchResult, error) {
			if slices.Contains(ids, "i-down") {
				t.Errorf("reboot requested for the stopped instance: %v", ids)
			}
			return allSucceed(ids), nil
		}}
	kpa := unitAttachment("rotate", []string{"i-up", "i-down"}, true, "K1")
	rs := unitReconcilers(t, (&unitClock{t: bootedAt}).now, cloud, kpa)

	got := attachPass(t, rs.Attachments, kpa)

	if w.key["i-down"] != "K2" || attachmentReason(got, "i-down") != "True/Attached" {
		t.Fatalf("the stopped instance: key %q, Attached=%s", w.key["i-down"], attachmentReason(got, "i-down"))
	}
	for _, s := range got.Status.Instances {
		c := ecsv1alpha1.FindInstanceCondition(s.Conditions, ecsv1alpha1.ConditionRebooted)
		want := "Unknown/Rebooting" // accepted by ECS
		if s.InstanceID == "i-down" {
			want = "False/InstanceStopped"
		}
		if c == nil || string(c.Status)+"/"+c.Reason != want {
			t.Errorf("%s: Rebooted=%+v, want %s", s.InstanceID, c, want)
		}
	}
}
