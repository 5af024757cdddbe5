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

// regionKeyIndex indexes objects by region and key pair: only objects that retire the same key
// in the same region can share a detach, and so a reboot.
const regionKeyIndex = "spec.regionId/keyPairName"

func regionKeyOf(obj *ecsv1alpha1.KeyPairDetachment) string {
	return obj.Spec.RegionID + "/" + obj.Spec.KeyPairName
}

func indexRegionKey(o client.Object) []string {
	if kpd, ok := o.(*ecsv1alpha1.KeyPairDetachment); ok {
		return []string{regionKeyOf(kpd)}
	}
	return nil
}

// peerInstance is what another object that names the same instance says about it.
type peerInstance struct {
	name          string // namespace/name
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

// willReboot reports whether the peer, having detached the instance, is going to reboot it.
func (p peerInstance) willReboot() bool { return p.rebootEnabled && !p.deleting }

// peerView maps instance ID → what other objects naming the instance say about it.
type peerView map[string][]peerInstance

// loadPeers reads, from the cache, the other objects of the same region and key pair, keeping
// only the instances this object names. Read without deep copies: nothing here is modified.
func (run *run) loadPeers(ctx context.Context) error {
	list := &ecsv1alpha1.KeyPairDetachmentList{}
	if err := run.r.List(ctx, list, client.MatchingFields{regionKeyIndex: regionKeyOf(run.obj)},
		client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing objects that share key pair %s: %w", run.obj.Spec.KeyPairName, err)
	}
	run.peers = peersOf(run.obj, run.table, list.Items)
	return nil
}

func peersOf(self *ecsv1alpha1.KeyPairDetachment, table *instanceTable, others []ecsv1alpha1.KeyPairDetachment) peerView {
	view := peerView{}
	for n := range others {
		o := &others[n]
		if o.UID == self.UID || o.Spec.RegionID != self.Spec.RegionID || o.Spec.KeyPairName != self.Spec.KeyPairName {
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
				name: o.Namespace + "/" + o.Name, rebootEnabled: o.Spec.Reboot.Enabled,
				deleting: o.DeletionTimestamp != nil, status: statuses[id],
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
	mu     sync.Mutex
	claims map[string]rebootClaim // region/instance → claim
}

type rebootClaim struct {
	owner types.UID
	name  string
	at    time.Time
}

// claim gives the reboot of an instance, for the detach that happened at detachAt, to owner,
// unless another object claimed it since that detach. It returns the holder's name otherwise.
func (l *rebootLedger) claim(region, instanceID string, owner types.UID, name string, detachAt, now time.Time) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.claims == nil {
		l.claims = map[string]rebootClaim{}
	}
	key := region + "/" + instanceID
	if c, ok := l.claims[key]; ok && c.owner != owner && !c.at.Before(detachAt.Truncate(time.Second)) {
		return c.name, false
	}
	l.claims[key] = rebootClaim{owner: owner, name: name, at: now}
	return "", true
}

// release withdraws owner's claim on an instance (ECS refused the request: nothing happened).
func (l *rebootLedger) release(region, instanceID string, owner types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := region + "/" + instanceID
	if c, ok := l.claims[key]; ok && c.owner == owner {
		delete(l.claims, key)
	}
}

// forget drops every claim of a deleted object ("namespace/name").
func (l *rebootLedger) forget(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, c := range l.claims {
		if c.name == name {
			delete(l.claims, key)
		}
	}
}
