package controllers

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// lastAppliedAnnotation is kubectl apply's copy of the whole spec: 1,000 instance IDs a second
// time, which the controller never reads.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheTransform is what the manager's cache does to every object before it keeps it: it drops
// what the controller never reads (managedFields, kubectl's last-applied copy of the spec) and
// makes the strings that repeat across thousands of status entries (condition types, statuses,
// reasons, messages, RequestIds shared by a batch, instance IDs also in the spec) share one
// copy. A decoded object holds each as a separate allocation, and at 100 objects × 1,000
// instances they were most of the manager's memory. Objects the controller writes are sent
// as a patch (finalizers) or to the status subresource, so nothing dropped is written back.
// main, the demo and the tests use it.
func CacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	in := &interner{}
	return func(obj any) (any, error) {
		obj, err := strip(obj)
		if err != nil {
			return obj, err
		}
		switch o := obj.(type) {
		case *ecsv1alpha1.KeyPairDetachment:
			delete(o.Annotations, lastAppliedAnnotation)
			in.instances(o.Spec.InstanceIDs, len(o.Status.Instances), func(n int) instanceFields {
				s := &o.Status.Instances[n]
				return instanceFields{&s.InstanceID, &s.LastRequestID, s.Detach, s.Reboot, s.Conditions}
			})
		case *ecsv1alpha1.KeyPairAttachment:
			delete(o.Annotations, lastAppliedAnnotation)
			in.instances(o.Spec.InstanceIDs, len(o.Status.Instances), func(n int) instanceFields {
				s := &o.Status.Instances[n]
				return instanceFields{&s.InstanceID, &s.LastRequestID, s.Attach, s.Reboot, s.Conditions}
			})
		}
		return obj, nil
	}
}

// internLimit bounds the interner: past it the table starts afresh, so a long-running manager
// does not keep every RequestId it has seen. What was interned stays shared.
const internLimit = 8192

// interner hands out one copy of each string it has seen.
type interner struct {
	mu    sync.Mutex
	table map[string]string
}

// instanceFields are the strings of one status entry, of either kind, that repeat.
type instanceFields struct {
	id, requestID *string
	change        *ecsv1alpha1.DetachRecord
	reboot        *ecsv1alpha1.RebootRecord
	conditions    []ecsv1alpha1.InstanceCondition
}

// instances interns the n status entries that entry returns; the spec's IDs are the copies
// entries share.
func (in *interner) instances(specInstanceIDs []string, n int, entry func(int) instanceFields) {
	if n == 0 {
		return
	}
	specIDs := make(map[string]string, len(specInstanceIDs))
	for _, id := range specInstanceIDs {
		specIDs[id] = id
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.table) > internLimit || in.table == nil {
		in.table = make(map[string]string, 256)
	}
	for k := range n {
		s := entry(k)
		if id, ok := specIDs[*s.id]; ok {
			*s.id = id
		}
		in.intern(s.requestID)
		if s.change != nil {
			p := string(s.change.Proof)
			in.intern(&p)
			s.change.Proof = ecsv1alpha1.DetachProof(p)
		}
		if s.reboot != nil {
			in.intern(&s.reboot.By)
		}
		for c := range s.conditions {
			cond := &s.conditions[c]
			in.intern(&cond.Type)
			status := string(cond.Status)
			in.intern(&status)
			cond.Status = metav1.ConditionStatus(status)
			in.intern(&cond.Reason)
			in.intern(&cond.Message)
		}
	}
}

func (in *interner) intern(s *string) {
	if *s == "" {
		return
	}
	if shared, ok := in.table[*s]; ok {
		*s = shared
		return
	}
	in.table[*s] = *s
}
