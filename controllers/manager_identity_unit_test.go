package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// credentialsCapturingFactory records the credentials each client was built with.
type credentialsCapturingFactory struct {
	cloud *fakeECS
	got   []*ecs.Credentials
}

func (f *credentialsCapturingFactory) ForRegion(_ context.Context, _ string, c *ecs.Credentials) (ecs.Client, error) {
	f.got = append(f.got, c)
	return f.cloud, nil
}

// TestManagerIdentityIsGrantedPerNamespace: the decision of design.md §2, where it is made. The
// reconciler grants the manager's identity to namespace "ns" only.
func TestManagerIdentityIsGrantedPerNamespace(t *testing.T) {
	secretIn := func(ns string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	fromFile := map[string]string{SecretKeyAccessKeyID: "AKID\n", SecretKeyAccessKeySecret: "  s3cret \r\n"}
	cases := []struct {
		name       string
		namespace  string
		withSecret bool
		// wantCalls: did ECS hear from this object at all?
		wantCalls     bool
		wantReason    string
		wantTerminal  bool
		wantStalled   metav1.ConditionStatus
		wantOwnCreds  *ecs.Credentials
		secretContent map[string]string
	}{
		{name: "granted namespace, no Secret: the manager's identity", namespace: "ns",
			wantCalls: true, wantReason: ecsv1alpha1.ReasonReady, wantStalled: metav1.ConditionFalse},
		{name: "other namespace, no Secret: refused before any ECS call", namespace: "team-a",
			wantReason: ecsv1alpha1.ReasonManagerIdentityNotAllowed, wantTerminal: true, wantStalled: metav1.ConditionTrue},
		{name: "other namespace with its own Secret, values trimmed as --from-file leaves them", namespace: "team-a",
			withSecret: true, secretContent: fromFile, wantCalls: true, wantReason: ecsv1alpha1.ReasonReady,
			wantStalled: metav1.ConditionFalse, wantOwnCreds: &ecs.Credentials{AccessKeyID: "AKID", AccessKeySecret: "s3cret"}},
		{name: "a Secret of only whitespace is a missing key, not an empty AccessKey", namespace: "team-a",
			withSecret: true, secretContent: map[string]string{SecretKeyAccessKeyID: "AKID", SecretKeyAccessKeySecret: "\n"},
			wantReason: ecsv1alpha1.ReasonCredentialsError, wantStalled: metav1.ConditionTrue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids := []string{"i-1", "i-2"}
			w := newWorld(ids)
			cloud := &fakeECS{t: t, DescribeInstancesFn: w.describe,
				DetachKeyPairFn: func(_ string, ids []string) (ecs.BatchResult, error) { return w.detachAll(ids), nil }}
			obj := unitObject("kpd", ids, false)
			obj.Namespace = c.namespace
			b := fake.NewClientBuilder().WithScheme(unitScheme(t)).
				WithIndex(&ecsv1alpha1.KeyPairDetachment{}, regionIndex, indexRegion).
				WithIndex(&ecsv1alpha1.KeyPairAttachment{}, regionIndex, indexRegion).
				WithObjects(obj).WithStatusSubresource(obj)
			if c.withSecret {
				obj.Spec.CredentialsSecretRef = &ecsv1alpha1.SecretReference{Name: "creds"}
				b = b.WithObjects(secretIn(c.namespace, c.secretContent))
			}
			api := b.Build()
			factory := &credentialsCapturingFactory{cloud: cloud}
			r := newReconcilers(api, api, events.NewFakeRecorder(100), factory,
				Options{Now: (&unitClock{t: bootedAt}).now, ManagerIdentityNamespaces: []string{"ns"}}).Detachments
			r.retry = retryPolicy{attempts: 1}

			got, _, err := unitPass(t, r, obj)

			if made := len(cloud.calls) > 0; made != c.wantCalls {
				t.Fatalf("ECS calls %v, want calls: %v", cloud.calls, c.wantCalls)
			}
			if terminal := errors.Is(err, reconcile.TerminalError(nil)); terminal != c.wantTerminal {
				t.Fatalf("error %v: terminal %v, want %v", err, terminal, c.wantTerminal)
			}
			ready := meta.FindStatusCondition(got.Status.Conditions, ecsv1alpha1.ConditionReady)
			if ready == nil || ready.Reason != c.wantReason {
				t.Fatalf("Ready = %+v, want reason %s", ready, c.wantReason)
			}
			if stalled := meta.FindStatusCondition(got.Status.Conditions, ecsv1alpha1.ConditionStalled); stalled == nil || stalled.Status != c.wantStalled {
				t.Fatalf("Stalled = %+v, want %s", stalled, c.wantStalled)
			}
			if c.wantReason == ecsv1alpha1.ReasonManagerIdentityNotAllowed {
				for _, must := range []string{"team-a", "credentialsSecretRef", "--manager-identity-namespaces"} {
					if !strings.Contains(ready.Message, must) {
						t.Errorf("Ready's message %q does not say %q", ready.Message, must)
					}
				}
			}
			if c.wantOwnCreds != nil {
				if len(factory.got) == 0 || *factory.got[0] != *c.wantOwnCreds {
					t.Fatalf("clients built with %+v, want %+v", factory.got, c.wantOwnCreds)
				}
			}
		})
	}
}

// TestDeletionAfterTheIdentityWasRevoked: the administrator takes the manager's identity away
// from a namespace mid-rollout, then the user deletes the object. Nothing may reach ECS, and
// the object must still go once its reboot in flight has had its timeout, naming what it
// detached but did not see rebooted.
func TestDeletionAfterTheIdentityWasRevoked(t *testing.T) {
	detachedAt := bootedAt.Add(time.Hour)
	requestedAt := detachedAt.Add(time.Minute)
	obj := unitObject("revoked", []string{"i-flight", "i-waiting"}, true)
	obj.Namespace = "team-a" // not granted: the reconciler below grants "ns" only
	obj.Finalizers = []string{ecsv1alpha1.FinalizerRebootsInFlight}
	obj.DeletionTimestamp = &metav1.Time{Time: requestedAt.Add(time.Minute)}
	obj.Status.Instances = []ecsv1alpha1.InstanceStatus{
		settled("i-flight", answerAt(detachedAt), ecsv1alpha1.ReasonRebootRequested,
			&ecsv1alpha1.RebootRecord{Attempts: 1, RequestedAt: &metav1.Time{Time: requestedAt}}),
		settled("i-waiting", answerAt(detachedAt), ecsv1alpha1.ReasonPending, nil),
	}
	clock := &unitClock{t: requestedAt.Add(2 * time.Minute)}
	cloud := &fakeECS{t: t} // every call fails the test
	r := unitReconciler(t, clock.now, cloud, obj)

	got, res, err := unitPass(t, r, obj)
	if err != nil || res.RequeueAfter == 0 || !slices.Contains(got.Finalizers, ecsv1alpha1.FinalizerRebootsInFlight) {
		t.Fatalf("first pass = %+v, %v, finalizers %v; want a wait while the reboot may still be in flight",
			res, err, got.Finalizers)
	}
	clock.t = clock.t.Add(20 * time.Minute)
	if _, err := r.Reconcile(context.Background(), requestFor(obj)); err != nil {
		t.Fatal(err)
	}
	if err := r.Get(context.Background(), client.ObjectKeyFromObject(obj), &ecsv1alpha1.KeyPairDetachment{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the timeout the object is still there (%v)", err)
	}
	var named string
	for _, e := range recordedEvents(r) {
		if strings.Contains(e, "DeletedBeforeReboot") {
			named = e
		}
	}
	for _, id := range []string{"i-flight", "i-waiting"} {
		if !strings.Contains(named, id) {
			t.Errorf("the DeletedBeforeReboot event does not name %s: %q", id, named)
		}
	}
	if len(cloud.calls) != 0 {
		t.Errorf("ECS calls %v from a namespace without the identity", cloud.calls)
	}
}
