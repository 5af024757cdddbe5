package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// A KeyPairDetachment and a KeyPairAttachment of the same key pair that name the same instance
// want opposite things, and so do two KeyPairAttachments of different key pairs (an instance
// carries one key: with replaceKeyPairs ["*"] each would replace the other's, a reboot each
// time, for ever). They are reported, not fought over: the first to hold the instance
// keeps it, the second leaves it alone with Detached/Attached=False/ClaimedByOther naming the
// first, and the first names the second in its own condition's message. An object holds an
// instance once its status says the instance is as it wants (done or already) or that its
// change is under way (the write-ahead marker); within one process, before the cache shows
// that status, the claim ledger says it.

// claimant is the object deciding, as the claim decision sees it.
type claimant struct {
	kind        *kind
	keyPairName string
	name        string
	created     time.Time
	// holds: this object's own status holds the instance already.
	holds bool
}

// holder is the opposing object that holds an instance.
type holder struct {
	kind *kind
	ref  types.NamespacedName
	// name is how the claimant names it.
	name string
	// keyPairName is the key pair it wants on or off the instance.
	keyPairName string
}

// opposes reports whether an object of kind k on key pair key wants the opposite of self: the
// other kind on the same key pair, or another attachment of a different key pair.
func (c claimant) opposes(k *kind, key string) bool {
	if k != c.kind {
		return key == c.keyPairName
	}
	return k == attachments && key != c.keyPairName
}

// holdsInStatus reports whether a reason of kind k's change condition holds the instance.
func holdsInStatus(k *kind, reason string) bool {
	return reason == k.done || reason == k.already || reason == k.changing
}

// opposingHolder is the claim decision for one instance: the object of the other kind, on the
// same key pair, that holds it first. A peer's status that holds it wins unless this object
// holds it too and is the older one (a tie only two passes racing across a restart leave).
// When this object's status does not hold it, a peer whose status says nothing yet holds it
// when it is the ledger's holder, and so does a ledger holder the cache does not show yet.
func opposingHolder(self claimant, peers []peerInstance, ledger *changeClaim) (holder, bool) {
	ledgerSeen := false
	for _, p := range peers {
		if !self.opposes(p.kind, p.keyPairName) {
			continue
		}
		h := holder{kind: p.kind, ref: p.ref, name: p.name, keyPairName: p.keyPairName}
		reason := p.changeReason()
		switch {
		case holdsInStatus(p.kind, reason):
			if !self.holds || p.created.Before(self.created) || (p.created.Equal(self.created) && p.name < self.name) {
				return h, true
			}
		case ledger != nil && ledger.owner == p.uid:
			ledgerSeen = true
			if !self.holds && (reason == "" || reason == ecsv1alpha1.ReasonPending) {
				return h, true
			}
		}
	}
	if ledger != nil && !ledgerSeen && !self.holds && self.opposes(ledger.kind, ledger.keyPairName) {
		return holder{kind: ledger.kind, ref: ledger.ref, name: ledger.kind.name + " " + ledger.ref.String(),
			keyPairName: ledger.keyPairName}, true
	}
	return holder{}, false
}

// claimLedger records, inside the process, which object holds an instance for a key pair:
// two objects of opposite kinds reconciled at the same moment both read "nobody holds it"
// from the cache, which lags behind this process's own writes.
type claimLedger struct {
	ownedClaims[changeClaim] // region/instance/keyPair → holder
}

type changeClaim struct {
	owner       types.UID
	kind        *kind
	ref         types.NamespacedName
	keyPairName string
}

func (c changeClaim) holder() types.UID { return c.owner }

// take runs decide on the current holder of key and, unless it says another object holds
// it, makes c the holder; both under the ledger's lock.
func (l *claimLedger) take(key string, c changeClaim, decide func(current *changeClaim) (holder, bool)) (holder, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claims == nil {
		l.claims = map[string]changeClaim{}
	}
	var current *changeClaim
	if h, ok := l.claims[key]; ok && h.owner != c.owner {
		current = &h
	}
	if h, claimed := decide(current); claimed {
		return h, true
	}
	l.claims[key] = c
	return holder{}, false
}

func (run *run) claimKey(i *instance) string {
	return run.obj.Spec.RegionID + "/" + i.id() + "/" + run.obj.Spec.KeyPairName
}

// claimedByOther decides whether an object of the other kind holds the instance; if not,
// this object holds it from now on. A newly stopped object wakes the holder once its status
// is written, so that the holder names it at once (noteContests).
func (run *run) claimedByOther(i *instance) (holder, bool) {
	self := claimant{kind: run.kind, keyPairName: run.obj.Spec.KeyPairName, name: run.name(),
		created: run.obj.GetCreationTimestamp().Time, holds: holdsInStatus(run.kind, i.changeReason())}
	mine := changeClaim{owner: run.obj.GetUID(), kind: run.kind, ref: run.key(), keyPairName: run.obj.Spec.KeyPairName}
	h, claimed := run.r.claims.take(run.claimKey(i), mine, func(current *changeClaim) (holder, bool) {
		return opposingHolder(self, run.peers[i.id()], current)
	})
	if !claimed {
		return holder{}, false
	}
	if i.changeReason() != ecsv1alpha1.ReasonClaimedByOther && !slices.Contains(run.wakeAfterWrite, h) {
		run.wakeAfterWrite = append(run.wakeAfterWrite, h)
	}
	return h, true
}

// releaseClaim gives up the instance: this object wants nothing of it any more.
func (run *run) releaseClaim(i *instance) {
	run.r.claims.release(run.claimKey(i), run.obj.GetUID())
}

// retainClaims gives up the instances the spec no longer names.
func (run *run) retainClaims() {
	keys := make(map[string]bool, len(run.table.ordered))
	for _, i := range run.table.ordered {
		keys[run.claimKey(i)] = true
	}
	run.r.claims.retain(run.obj.GetUID(), func(key string) bool { return keys[key] })
}

// wakeHolders wakes the objects this pass newly left instances alone for, so that they name
// this object. The holder reads this object's status from the informer cache, which may not
// show the write just made when the holder runs at once; a converged holder would then not run
// again before its resync. So it is woken again once the cache has had time to catch up.
func (run *run) wakeHolders() {
	for _, h := range run.wakeAfterWrite {
		if wake := run.r.wakes[h.kind]; wake != nil {
			wake(h.ref)
			time.AfterFunc(cacheCatchUp, func() { wake(h.ref) })
		}
	}
}

// cacheCatchUp is how long after its own write an object's status is, in practice, in the
// informer cache of the same process (a watch event on a local API server: milliseconds).
const cacheCatchUp = 2 * time.Second

// contestNote ends the message with which a holder names the objects that left an instance
// alone for it.
const contestNote = "left it alone, as this object holds it"

// maxLeftAloneBy bounds status.instances[].leftAloneBy, as the CRD does.
const maxLeftAloneBy = 8

// noteContests names, on the instances this object holds, the opposing objects that left them
// alone because of it (leftAloneBy, and the change condition's message), so that both objects
// say what happened; both go when they stop naming the instance. It needs no ECS call: the
// peers' statuses say it.
func (run *run) noteContests() {
	self := claimant{kind: run.kind, keyPairName: run.obj.Spec.KeyPairName}
	for _, i := range run.table.ordered {
		c := i.condition(run.kind.condition)
		if c == nil || c.Status == metav1.ConditionFalse {
			continue
		}
		var names, wants []string
		for _, p := range run.peers[i.id()] {
			if self.opposes(p.kind, p.keyPairName) && p.changeReason() == ecsv1alpha1.ReasonClaimedByOther {
				names = append(names, p.name)
				wants = append(wants, fmt.Sprintf("%s wants %s %s", p.name, p.keyPairName, p.kind.wish))
			}
		}
		if len(names) == 0 && len(i.status.LeftAloneBy) == 0 {
			continue // never contested: the message is the phases' own
		}
		i.status.LeftAloneBy = nil
		if len(names) > 0 {
			i.status.LeftAloneBy = names[:min(len(names), maxLeftAloneBy)]
		}
		msg := ""
		if len(wants) > 0 {
			msg = fmt.Sprintf("%s and %s", strings.Join(wants, "; "), contestNote)
		}
		if c.Message != msg {
			i.set(c.Type, c.Status, c.Reason, msg)
		}
	}
}
