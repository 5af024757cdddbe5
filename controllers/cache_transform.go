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
		if kpd, ok := obj.(*ecsv1alpha1.KeyPairDetachment); ok {
			delete(kpd.Annotations, lastAppliedAnnotation)
			in.status(kpd)
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

func (in *interner) status(kpd *ecsv1alpha1.KeyPairDetachment) {
	if len(kpd.Status.Instances) == 0 {
		return
	}
	specIDs := make(map[string]string, len(kpd.Spec.InstanceIDs))
	for _, id := range kpd.Spec.InstanceIDs {
		specIDs[id] = id
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.table) > internLimit || in.table == nil {
		in.table = make(map[string]string, 256)
	}
	for n := range kpd.Status.Instances {
		s := &kpd.Status.Instances[n]
		if id, ok := specIDs[s.InstanceID]; ok {
			s.InstanceID = id
		}
		in.intern(&s.LastRequestID)
		if s.Detach != nil {
			p := string(s.Detach.Proof)
			in.intern(&p)
			s.Detach.Proof = ecsv1alpha1.DetachProof(p)
		}
		if s.Reboot != nil {
			in.intern(&s.Reboot.By)
		}
		for c := range s.Conditions {
			cond := &s.Conditions[c]
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
