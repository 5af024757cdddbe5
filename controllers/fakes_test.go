package controllers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// fakeECS is an ecs.Client with one func field per method, as crossplane-runtime's fakes: a
// table case sets only the calls its failure point needs; any other call fails the test.
type fakeECS struct {
	t                   *testing.T
	DescribeInstancesFn func(ids []string) ([]ecs.Instance, error)
	KeyPairExistsFn     func(name string) (bool, error)
	DetachKeyPairFn     func(key string, ids []string) (ecs.BatchResult, error)
	AttachKeyPairFn     func(key string, ids []string) (ecs.BatchResult, error)
	RebootInstancesFn   func(ids []string, forceStop bool) (ecs.BatchResult, error)
	CloudAssistantFn    func(ids []string) (map[string]bool, error)
	RebootDryRunFn      func(ids []string, forceStop bool) error
	AwaitBudgetFn       func() error
	calls               map[string]int
	// mu serialises the calls: a pass sends a group of detaches at once.
	mu sync.Mutex
}

func (f *fakeECS) count(action string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[action]++
}

func (f *fakeECS) DescribeInstances(_ context.Context, ids []string) ([]ecs.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeInstances")
	if f.DescribeInstancesFn == nil {
		f.t.Fatalf("unexpected DescribeInstances(%v)", ids)
	}
	return f.DescribeInstancesFn(ids)
}

func (f *fakeECS) KeyPairExists(_ context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeKeyPairs")
	if f.KeyPairExistsFn == nil {
		return true, nil
	}
	return f.KeyPairExistsFn(name)
}

func (f *fakeECS) DetachKeyPair(_ context.Context, key string, ids []string) (ecs.BatchResult, error) {
	return f.batch("DetachKeyPair", f.DetachKeyPairFn, key, ids)
}

func (f *fakeECS) AttachKeyPair(_ context.Context, key string, ids []string) (ecs.BatchResult, error) {
	return f.batch("AttachKeyPair", f.AttachKeyPairFn, key, ids)
}

func (f *fakeECS) batch(action string, fn func(string, []string) (ecs.BatchResult, error), key string, ids []string) (ecs.BatchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count(action)
	if fn == nil {
		f.t.Fatalf("unexpected %s(%v)", action, ids)
	}
	return fn(key, ids)
}

func (f *fakeECS) RebootInstances(_ context.Context, ids []string, forceStop bool) (ecs.BatchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("RebootInstances")
	if f.RebootInstancesFn == nil {
		f.t.Fatalf("unexpected RebootInstances(%v)", ids)
	}
	return f.RebootInstancesFn(ids, forceStop)
}

func (f *fakeECS) CloudAssistantStatus(_ context.Context, ids []string) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeCloudAssistantStatus")
	if f.CloudAssistantFn == nil {
		// The pre-flight asks before every detach; cases about other failure points see every
		// agent running.
		running := make(map[string]bool, len(ids))
		for _, id := range ids {
			running[id] = true
		}
		return running, nil
	}
	return f.CloudAssistantFn(ids)
}

func (f *fakeECS) RebootDryRun(_ context.Context, ids []string, forceStop bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("RebootDryRun")
	if f.RebootDryRunFn == nil {
		return nil // the pre-flight's dry run passes unless a case says otherwise
	}
	return f.RebootDryRunFn(ids, forceStop)
}

func (f *fakeECS) AwaitBudget(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("AwaitBudget")
	if f.AwaitBudgetFn == nil {
		return nil
	}
	return f.AwaitBudgetFn()
}

// Errors as the ecs package returns them.
var (
	errThrottled   = &ecs.APIError{Action: "X", Code: "Throttling.User", StatusCode: 400}
	errServerFault = &ecs.APIError{Action: "X", Code: "InternalError", StatusCode: 500}
	errLostAnswer  = errors.New("ecs X: context deadline exceeded")
)

// allSucceed answers a batch call with Success for every ID.
func allSucceed(ids []string) ecs.BatchResult {
	res := ecs.BatchResult{RequestID: "REQ-" + ids[0]}
	for _, id := range ids {
		res.Results = append(res.Results, ecs.InstanceResult{InstanceID: id})
	}
	return res
}

func unitScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := ecsv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// unitObject is a stored object named name with the given instances and reboot settings.
func unitObject(name string, ids []string, reboot bool) *ecsv1alpha1.KeyPairDetachment {
	return &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Generation: 1},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{RegionID: "cn-hangzhou", KeyPairName: "K1", InstanceIDs: ids,
			Reboot: ecsv1alpha1.RebootSpec{Enabled: reboot, MaxConcurrent: 10, Timeout: &metav1.Duration{Duration: 15 * time.Minute}}},
	}
}

// fakeFactory hands out one fakeECS for every region.
type fakeFactory struct{ cloud *fakeECS }

func (f fakeFactory) ForRegion(context.Context, string, *ecs.Credentials) (ecs.Client, error) {
	return f.cloud, nil
}

// unitReconciler is the detachments' reconciler of unitReconcilers.
func unitReconciler(t *testing.T, now func() time.Time, cloud *fakeECS, objs ...*ecsv1alpha1.KeyPairDetachment) *Reconciler {
	typed := make([]client.Object, len(objs))
	for n, o := range objs {
		typed[n] = o
	}
	return unitReconcilers(t, now, cloud, typed...).Detachments
}

// unitReconcilers are the reconcilers over a fake API server holding objs (of either kind)
// and the fake cloud, with clock now: what NewReconcilers builds, minus the manager.
func unitReconcilers(t *testing.T, now func() time.Time, cloud *fakeECS, objs ...client.Object) Reconcilers {
	b := fake.NewClientBuilder().WithScheme(unitScheme(t))
	for _, k := range kinds {
		b = b.WithIndex(k.newObject(), regionIndex, indexRegion)
	}
	for _, o := range objs {
		b = b.WithObjects(o).WithStatusSubresource(o)
	}
	rs := newReconcilers(b.Build(), nil, events.NewFakeRecorder(1000), fakeFactory{cloud},
		Options{Now: now, ResyncPeriod: time.Hour, RebootPollInterval: time.Second,
			ManagerIdentityNamespaces: []string{"ns"}})
	for _, r := range []*Reconciler{rs.Detachments, rs.Attachments} {
		// One call per failure point: the in-pass retries have their own table (cloud_retry_test.go).
		r.retry = retryPolicy{attempts: 1}
	}
	return rs
}

// latest reads obj back from the fake API server.
func latest(t *testing.T, c client.Client, obj *ecsv1alpha1.KeyPairDetachment) *ecsv1alpha1.KeyPairDetachment {
	out := &ecsv1alpha1.KeyPairDetachment{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), out); err != nil {
		t.Fatal(err)
	}
	return out
}
