package controllers

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// kind is everything that makes a KeyPairDetachment differ from a KeyPairAttachment: which
// instances qualify for the change, which ECS call makes it, and the names status uses. Every
// phase reads these and nothing else of the kind, so the two kinds share one implementation
// of observation, batches, markers, exactly-once reboots, the finalizer and the summary.
type kind struct {
	// name is the Kind, as users read it in messages naming an object of the other kind.
	name string
	// controller names the controller, its logs and metrics.
	controller string
	// condition is the per-instance and object condition type of the change.
	condition string
	// Reasons of that condition: changed by this object, already as wanted (not changed by
	// this object), the write-ahead marker, any other refusal, the object's all-done, and
	// what a plan (spec.mode Plan) says of an instance an Apply would change.
	done, already, changing, failed, allDone, would string
	// verb and past name the change in messages ("detach", "detached"); action is the verb
	// as events' action.
	verb, past, action string
	// changedLog is the log line of a batch's outcome; tools (test/e2e among them) grep for it.
	changedLog string
	// wish is where the kind wants the key pair: "off" or "on", for messages about conflicts.
	wish string
	// allDoneNote is the message of the object's condition when every instance is done, with
	// the key pair's name and the number of instances.
	allDoneNote string
	// summaryLabel is the summary's (and the metric's) count of condition=True.
	summaryLabel string
	// alreadyCode is the per-instance code with which ECS says the change was already made by
	// someone else between observation and call; empty when ECS has none.
	alreadyCode string
	// wants classifies an observed instance for the change; previous is the condition's
	// reason before this observation.
	wants func(obj *subject, o *ecs.Instance, previous string) want
	// change makes the ECS call for one batch.
	change func(ctx context.Context, cloud ecs.Client, keyPairName string, ids []string) (ecs.BatchResult, error)
	// mismatch says why an instance with another key pair is left alone; pending says what the
	// change phase is about to do to an instance due for the change.
	mismatch func(obj *subject, o *ecs.Instance) string
	pending  func(obj *subject, o *ecs.Instance) string
	// newObject and newList make empty typed objects, items lists a typed list's objects.
	newObject func() client.Object
	newList   func() client.ObjectList
	items     func(list client.ObjectList) []client.Object
	// adapt gives the phases their view of an object (view sets its kind); statuses are
	// converted only for the instance IDs keep accepts.
	adapt func(o client.Object, keep func(id string) bool) *subject
}

// view is the phases' view of an object of kind k; keep selects the instances whose status
// the view needs (nil: all).
func (k *kind) view(o client.Object, keep func(id string) bool) *subject {
	if keep == nil {
		keep = func(string) bool { return true }
	}
	s := k.adapt(o, keep)
	s.kind = k
	return s
}

// want is what an object does with an observed instance.
type want int

const (
	// wantChange: the instance carries what this object changes; it makes the call. Not the
	// zero value, which an instance not classified in this reconcile has.
	wantChange want = iota + 1
	// wantNothing: the instance is already as this object wants it.
	wantNothing
	// wantMismatch: it carries a key pair this object may not touch; left alone.
	wantMismatch
)

// subject is an object of either kind as the phases see it: the typed object (for writes and
// events), the spec fields both kinds have, and the status in the shape both share. For a
// detachment Spec and Status point into the object; an attachment's status is converted on
// load and written back by flush before every write.
type subject struct {
	client.Object
	kind   *kind
	Spec   *ecsv1alpha1.KeyPairDetachmentSpec
	Status *ecsv1alpha1.KeyPairDetachmentStatus
	// attach is an attachment's spec (replaceKeyPairs); nil for a detachment.
	attach *ecsv1alpha1.KeyPairAttachmentSpec
	flush  func()
}

// detachments: instances must not carry the key pair.
var detachments = &kind{
	name: "KeyPairDetachment", controller: "keypairdetachment",
	condition: ecsv1alpha1.ConditionDetached,
	done:      ecsv1alpha1.ReasonDetached, already: ecsv1alpha1.ReasonNotAttached,
	changing: ecsv1alpha1.ReasonDetaching, failed: ecsv1alpha1.ReasonDetachFailed, allDone: ecsv1alpha1.ReasonAllDetached,
	would: ecsv1alpha1.ReasonWouldDetach,
	verb:  "detach", past: "detached", action: "Detach", summaryLabel: "detached",
	allDoneNote: "Key pair %s is on none of the %d instances", wish: "off", changedLog: "Detached key pair",
	alreadyCode: codeKeyPairNotAttached,
	wants: func(obj *subject, o *ecs.Instance, previous string) want {
		switch o.KeyPairName {
		case obj.Spec.KeyPairName:
			return wantChange
		case "":
			return wantNothing
		}
		if previous == ecsv1alpha1.ReasonDetached || previous == ecsv1alpha1.ReasonNotAttached {
			// The key this object retires was seen off the instance; another one put on since
			// (a rotation) keeps it off, which is all this object asks.
			return wantNothing
		}
		return wantMismatch
	},
	change: func(ctx context.Context, cloud ecs.Client, key string, ids []string) (ecs.BatchResult, error) {
		return cloud.DetachKeyPair(ctx, key, ids)
	},
	mismatch: func(obj *subject, o *ecs.Instance) string {
		return fmt.Sprintf("Carries another key pair (%s), not %s; left alone", o.KeyPairName, obj.Spec.KeyPairName)
	},
	pending: func(obj *subject, _ *ecs.Instance) string {
		return fmt.Sprintf("Carries %s; to be detached", obj.Spec.KeyPairName)
	},
	newObject: func() client.Object { return &ecsv1alpha1.KeyPairDetachment{} },
	newList:   func() client.ObjectList { return &ecsv1alpha1.KeyPairDetachmentList{} },
	items: func(list client.ObjectList) []client.Object {
		return objectsOf(list.(*ecsv1alpha1.KeyPairDetachmentList).Items)
	},
	adapt: func(o client.Object, _ func(string) bool) *subject {
		kpd := o.(*ecsv1alpha1.KeyPairDetachment)
		return &subject{Object: kpd, Spec: &kpd.Spec, Status: &kpd.Status, flush: func() {}}
	},
}

// attachments: instances must carry the key pair, replacing only the key pairs listed.
var attachments = &kind{
	name: "KeyPairAttachment", controller: "keypairattachment",
	condition: ecsv1alpha1.ConditionAttached,
	done:      ecsv1alpha1.ReasonAttached, already: ecsv1alpha1.ReasonAlreadyAttached,
	changing: ecsv1alpha1.ReasonAttaching, failed: ecsv1alpha1.ReasonAttachFailed, allDone: ecsv1alpha1.ReasonAllAttached,
	would: ecsv1alpha1.ReasonWouldAttach,
	verb:  "attach", past: "attached", action: "Attach", summaryLabel: "attached",
	allDoneNote: "Key pair %s is on all of the %d instances", wish: "on", changedLog: "Attached key pair",
	wants: func(obj *subject, o *ecs.Instance, _ string) want {
		switch {
		case o.KeyPairName == obj.Spec.KeyPairName:
			return wantNothing
		case o.KeyPairName == "" || obj.attach.MayReplace(o.KeyPairName):
			return wantChange
		}
		return wantMismatch
	},
	change: func(ctx context.Context, cloud ecs.Client, key string, ids []string) (ecs.BatchResult, error) {
		return cloud.AttachKeyPair(ctx, key, ids)
	},
	mismatch: func(obj *subject, o *ecs.Instance) string {
		return fmt.Sprintf("Carries %s, which spec.replaceKeyPairs does not list; left alone", o.KeyPairName)
	},
	pending: func(obj *subject, o *ecs.Instance) string {
		if o.KeyPairName == "" {
			return fmt.Sprintf("No key pair; %s to be attached", obj.Spec.KeyPairName)
		}
		return fmt.Sprintf("Carries %s; to be replaced by %s", o.KeyPairName, obj.Spec.KeyPairName)
	},
	newObject: func() client.Object { return &ecsv1alpha1.KeyPairAttachment{} },
	newList:   func() client.ObjectList { return &ecsv1alpha1.KeyPairAttachmentList{} },
	items: func(list client.ObjectList) []client.Object {
		return objectsOf(list.(*ecsv1alpha1.KeyPairAttachmentList).Items)
	},
	adapt: func(o client.Object, keep func(string) bool) *subject {
		return adaptAttachment(o.(*ecsv1alpha1.KeyPairAttachment), keep)
	},
}

// objectsOf points at a typed list's items, without copying them.
func objectsOf[T any, PT interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for n := range items {
		out[n] = PT(&items[n])
	}
	return out
}

// kinds are the kinds the manager runs, each with its own controller.
var kinds = []*kind{detachments, attachments}

// adaptAttachment converts an attachment's status, for the instances keep accepts, into the
// shared shape; flush converts it back. The conversion copies no condition list: the
// entries are shared, and the phases replace lists rather than edit them in place.
func adaptAttachment(kpa *ecsv1alpha1.KeyPairAttachment, keep func(string) bool) *subject {
	st := &ecsv1alpha1.KeyPairDetachmentStatus{
		ObservedGeneration: kpa.Status.ObservedGeneration,
		Conditions:         kpa.Status.Conditions,
		Plan:               kpa.Status.Plan,
		Summary: ecsv1alpha1.Summary{Total: kpa.Status.Summary.Total, Detached: kpa.Status.Summary.Attached,
			Rebooted: kpa.Status.Summary.Rebooted, Failed: kpa.Status.Summary.Failed, Pending: kpa.Status.Summary.Pending},
	}
	for _, s := range kpa.Status.Instances {
		if keep(s.InstanceID) {
			st.Instances = append(st.Instances, ecsv1alpha1.InstanceStatus{
				InstanceID: s.InstanceID, LastRequestID: s.LastRequestID, Detach: s.Attach,
				DetachingSince: s.AttachingSince, DetachRetries: s.AttachRetries, LeftAloneBy: s.LeftAloneBy, Reboot: s.Reboot,
				Conditions: s.Conditions})
		}
	}
	return &subject{Object: kpa, Spec: &kpa.Spec.KeyPairDetachmentSpec, Status: st, attach: &kpa.Spec,
		flush: func() {
			kpa.Status = ecsv1alpha1.KeyPairAttachmentStatus{
				ObservedGeneration: st.ObservedGeneration,
				Conditions:         slices.Clone(st.Conditions),
				Plan:               st.Plan,
				Summary: ecsv1alpha1.AttachmentSummary{Total: st.Summary.Total, Attached: st.Summary.Detached,
					Rebooted: st.Summary.Rebooted, Failed: st.Summary.Failed, Pending: st.Summary.Pending},
			}
			for _, s := range st.Instances {
				kpa.Status.Instances = append(kpa.Status.Instances, ecsv1alpha1.AttachmentInstanceStatus{
					InstanceID: s.InstanceID, LastRequestID: s.LastRequestID, Attach: s.Detach,
					AttachingSince: s.DetachingSince, AttachRetries: s.DetachRetries, LeftAloneBy: s.LeftAloneBy, Reboot: s.Reboot,
					Conditions: s.Conditions})
			}
		}}
}

// name is the object's "namespace/name", as peers of its own kind name it.
func (s *subject) name() string { return s.GetNamespace() + "/" + s.GetName() }

// nameFor is the object's name as an object of kind k reads it: qualified by the kind when it
// is another kind.
func (s *subject) nameFor(k *kind) string {
	if s.kind == k {
		return s.name()
	}
	return s.kind.name + " " + s.name()
}
