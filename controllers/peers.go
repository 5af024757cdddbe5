package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// regionIndex indexes objects of both kinds by region: any object that changed a key on an
// instance, whichever key and kind, needs the reboot that makes its change take effect, so
// every one that names the instance shares that reboot.
const regionIndex = "spec.regionId"

func indexRegion(o client.Object) []string {
	switch obj := o.(type) {
	case *ecsv1alpha1.KeyPairDetachment:
		return []string{obj.Spec.RegionID}
	case *ecsv1alpha1.KeyPairAttachment:
		return []string{obj.Spec.RegionID}
	}
	return nil
}

// peerInstance is what another object that names the same instance says about it.
type peerInstance struct {
	name          string // namespace/name, qualified by the kind when not this object's kind
	ref           types.NamespacedName
	uid           types.UID
	kind          *kind
	keyPairName   string
	created       time.Time
	rebootEnabled bool
	deleting      bool
	// status is nil when the peer names the instance but has not written a status for it yet.
	status *ecsv1alpha1.InstanceStatus
}

func (p peerInstance) reason(conditionType string) string {
	if p.status == nil {
		return ""
	}
	if c := ecsv1alpha1.FindInstanceCondition(p.status.Conditions, conditionType); c != nil {
		return c.Reason
	}
	return ""
}

// changeReason is the reason of the peer's own change condition (Detached or Attached).
func (p peerInstance) changeReason() string { return p.reason(p.kind.condition) }

// willReboot reports whether the peer, having changed the instance, is going to reboot it.
func (p peerInstance) willReboot() bool { return p.rebootEnabled && !p.deleting }

// peerView maps instance ID → what other objects naming the instance say about it.
type peerView map[string][]peerInstance

// loadPeers reads, from the cache, the other objects of either kind in the same region,
// keeping only the instances this object names. Read without deep copies: nothing here is
// modified.
func (run *run) loadPeers(ctx context.Context) error {
	var others []*subject
	keep := func(id string) bool { return run.table.byID[id] != nil }
	for _, k := range kinds {
		list := k.newList()
		if err := run.r.List(ctx, list, client.MatchingFields{regionIndex: run.obj.Spec.RegionID},
			client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("listing the %ss of region %s: %w", k.name, run.obj.Spec.RegionID, err)
		}
		for _, o := range k.items(list) {
			others = append(others, k.view(o, keep))
		}
	}
	run.peers = peersOf(run.obj, run.table, others)
	return nil
}

func peersOf(self *subject, table *instanceTable, others []*subject) peerView {
	view := peerView{}
	for _, o := range others {
		if o.GetUID() == self.GetUID() || o.Spec.RegionID != self.Spec.RegionID {
			continue
		}
		statuses := make(map[string]*ecsv1alpha1.InstanceStatus, len(o.Status.Instances))
		for k := range o.Status.Instances {
			statuses[o.Status.Instances[k].InstanceID] = &o.Status.Instances[k]
		}
		for _, id := range o.Spec.InstanceIDs {
			if table.byID[id] == nil {
				continue
			}
			view[id] = append(view[id], peerInstance{
				name: o.nameFor(self.kind), ref: client.ObjectKeyFromObject(o), uid: o.GetUID(), kind: o.kind, keyPairName: o.Spec.KeyPairName,
				created: o.GetCreationTimestamp().Time, rebootEnabled: o.Spec.Reboot.Enabled,
				deleting: o.GetDeletionTimestamp() != nil, status: statuses[id],
			})
		}
	}
	return view
}

// rebootLedger arbitrates, inside the process, which object reboots an instance: the cache
// lags behind this process's own writes, so two objects could otherwise both read "nobody is
// rebooting it" and both ask. Claims made by an earlier process are in the objects' statuses
// (every marker is written before its call), which the peer view reads.
type rebootLedger struct {
	ownedClaims[rebootClaim] // region/instance → claim
}

type rebootClaim struct {
	owner types.UID
	kind  *kind
	name  string
	at    time.Time
}

func (c rebootClaim) holder() types.UID { return c.owner }

// claim gives the reboot of an instance, for the change that happened at detachAt, to owner
// (named name, of kind k), unless another object of either kind claimed it since that change.
// It returns the holder's name otherwise, as an object of kind k names it.
func (l *rebootLedger) claim(region, instanceID string, owner types.UID, k *kind, name string, detachAt, now time.Time) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claims == nil {
		l.claims = map[string]rebootClaim{}
	}
	key := region + "/" + instanceID
	if c, ok := l.claims[key]; ok && c.owner != owner && !c.at.Before(detachAt.Truncate(time.Second)) {
		if c.kind != k && c.kind != nil {
			return c.kind.name + " " + c.name, false
		}
		return c.name, false
	}
	l.claims[key] = rebootClaim{owner: owner, kind: k, name: name, at: now}
	return "", true
}

// release withdraws owner's claim on an instance (ECS refused the request: nothing happened).
func (l *rebootLedger) release(region, instanceID string, owner types.UID) {
	l.ownedClaims.release(region+"/"+instanceID, owner)
}

// ownedClaims are claims by key, each held by one object: what the reboot and the change
// ledgers share. Deciding who gets a claim is each ledger's own business.
type ownedClaims[C interface{ holder() types.UID }] struct {
	mu     sync.Mutex
	claims map[string]C
}

// release drops owner's claim on key.
func (o *ownedClaims[C]) release(key string, owner types.UID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.claims[key]; ok && c.holder() == owner {
		delete(o.claims, key)
	}
}

// retain drops owner's claims on the keys keep rejects.
func (o *ownedClaims[C]) retain(owner types.UID, keep func(key string) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for key, c := range o.claims {
		if c.holder() == owner && !keep(key) {
			delete(o.claims, key)
		}
	}
}

// forget drops every claim of a deleted object.
func (o *ownedClaims[C]) forget(owner types.UID) {
	o.retain(owner, func(string) bool { return false })
}
