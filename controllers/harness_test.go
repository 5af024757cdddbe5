package controllers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const (
	testRegion    = "cn-hangzhou"
	testKey       = "FinanceJoshuaV26"
	testAccessKey = "LTAI_TEST"
	testSecret    = "test-secret"
)

// fleetOf returns a fleet with the test account and key pair, the given instances and fast
// reboots, so that a rollout of dozens of instances takes seconds.
func fleetOf(instances []ecsemu.InstanceSpec, generate ...ecsemu.GenerateSpec) ecsemu.Fleet {
	return ecsemu.Fleet{
		Accounts:  []ecsemu.Account{{AccessKeyID: testAccessKey, AccessKeySecret: testSecret}},
		KeyPairs:  []ecsemu.KeyPair{{RegionID: testRegion, KeyPairName: testKey}},
		Instances: instances,
		Generate:  generate,
		Lifecycle: ecsemu.Lifecycle{
			Stopping: ecsemu.Duration(300 * time.Millisecond), Starting: ecsemu.Duration(500 * time.Millisecond)},
	}
}

// linux returns n Linux instances named prefix-1 … with the given status and key.
func linux(prefix string, n int, status, key string) []ecsemu.InstanceSpec {
	out := make([]ecsemu.InstanceSpec, n)
	for i := range out {
		out[i] = ecsemu.InstanceSpec{InstanceID: fmt.Sprintf("%s%03d", prefix, i+1), RegionID: testRegion,
			OSType: "linux", Status: status, KeyPairName: key}
	}
	return out
}

func idsOf(specs []ecsemu.InstanceSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.InstanceID
	}
	return out
}

// startEmulator serves fleet on a free loopback port until the spec ends.
func startEmulator(fleet ecsemu.Fleet) (*ecsemu.Emulator, string) {
	emu, err := ecsemu.New(fleet)
	Expect(err).NotTo(HaveOccurred())
	url, stop, err := emu.Start("127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		// A graceful shutdown can outlast its deadline on a loaded machine while a stopped
		// manager's connections drain; the emulator then closes them, which is all a spec needs.
		if err := stop(); err != nil {
			GinkgoWriter.Printf("Emulator stopped forcibly: %v\n", err)
		}
	})
	return emu, url
}

// managerOptions shape one test manager.
type managerOptions struct {
	endpoint  string
	namespace string
	// otherNamespaces are watched too, but may not use the manager's identity.
	otherNamespaces []string
	callTimeout     time.Duration
	clock           *testClock
	tweak           func(*Options)
	wrapClient      func(client.Client) client.Client
}

// startManager runs a real manager with the reconciler, restricted to one namespace so that
// objects of other specs never reach this spec's emulator. The returned stop waits for it.
func startManager(o managerOptions) (stop func()) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: watched(o), DefaultTransform: CacheTransform()},
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	if o.callTimeout == 0 {
		o.callTimeout = 5 * time.Second
	}
	factory, err := ecs.NewFactory(ecs.FactoryOptions{
		Endpoint: o.endpoint, QPS: 0, CallTimeout: o.callTimeout,
		Env: func(name string) string {
			return map[string]string{ecs.EnvAccessKeyID: testAccessKey, ecs.EnvAccessKeySecret: testSecret}[name]
		},
	})
	Expect(err).NotTo(HaveOccurred())
	opts := Options{
		ResyncPeriod:            time.Hour,
		RebootPollInterval:      200 * time.Millisecond,
		MaxConcurrentReconciles: 2,
		Now:                     o.clock.now,
		WrapClient:              o.wrapClient,
		// As main's default does for its own namespace: the story's objects may use the
		// manager's identity, others may not.
		ManagerIdentityNamespaces: []string{o.namespace},
	}
	if o.tweak != nil {
		o.tweak(&opts)
	}
	Expect(NewReconcilers(mgr, factory, opts).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(suiteCtx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	DeferCleanup(stop)
	return stop
}

func watched(o managerOptions) map[string]cache.Config {
	out := map[string]cache.Config{o.namespace: {}}
	for _, ns := range o.otherNamespaces {
		out[ns] = cache.Config{}
	}
	return out
}

// testClock is a manager's clock, offset from the real one: specs move it to outlast
// spec.reboot.timeout without waiting, or skew it against the emulator's clock. A nil clock is
// the real one.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kpd-test-"}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	return ns.Name
}

func newDetachment(namespace string, instanceIDs []string) *ecsv1alpha1.KeyPairDetachment {
	return &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: "retire-key", Namespace: namespace},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{
			RegionID: testRegion, KeyPairName: testKey, InstanceIDs: instanceIDs,
		},
	}
}

// fetch reads the object's latest state from the API server.
func fetch(obj *ecsv1alpha1.KeyPairDetachment) *ecsv1alpha1.KeyPairDetachment {
	return fetchView(obj).Object.(*ecsv1alpha1.KeyPairDetachment)
}

// fetchView reads an object of either kind and returns it as the phases see it, so that one
// set of helpers reads both kinds.
func fetchView(obj client.Object) *subject {
	k := kindOf(obj)
	latest := k.newObject()
	ExpectWithOffset(1, k8sClient.Get(suiteCtx, keyOf(obj), latest)).To(Succeed())
	return k.view(latest, nil)
}

func kindOf(obj client.Object) *kind {
	if _, ok := obj.(*ecsv1alpha1.KeyPairAttachment); ok {
		return attachments
	}
	return detachments
}

// objectCondition returns "Status/Reason" of an object condition, for readable failures.
func objectCondition(obj *ecsv1alpha1.KeyPairDetachment, t string) string {
	return statusCondition(&obj.Status, t)
}

func statusCondition(s *ecsv1alpha1.KeyPairDetachmentStatus, t string) string {
	c := meta.FindStatusCondition(s.Conditions, t)
	if c == nil {
		return "<none>"
	}
	return string(c.Status) + "/" + c.Reason
}

// eventuallyCondition waits until the object's condition t reads want ("Status/Reason").
func eventuallyCondition(obj *ecsv1alpha1.KeyPairDetachment, t, want string, timeout time.Duration) *ecsv1alpha1.KeyPairDetachment {
	return eventuallyView(obj, t, want, timeout).Object.(*ecsv1alpha1.KeyPairDetachment)
}

// eventuallyView is eventuallyCondition for an object of either kind.
func eventuallyView(obj client.Object, t, want string, timeout time.Duration) *subject {
	var latest *subject
	EventuallyWithOffset(2, func(g Gomega) {
		k := kindOf(obj)
		typed := k.newObject()
		g.Expect(k8sClient.Get(suiteCtx, keyOf(obj), typed)).To(Succeed())
		latest = k.view(typed, nil)
		g.Expect(latest.Status.ObservedGeneration).To(Equal(latest.GetGeneration()))
		g.Expect(statusCondition(latest.Status, t)).To(Equal(want))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	return latest
}

// reasonsByInstance maps instance ID → reason of condition t.
func reasonsByInstance(obj *ecsv1alpha1.KeyPairDetachment, t string) map[string]string {
	return reasonsIn(&obj.Status, t)
}

func reasonsIn(s *ecsv1alpha1.KeyPairDetachmentStatus, t string) map[string]string {
	out := map[string]string{}
	for _, s := range s.Instances {
		if c := ecsv1alpha1.FindInstanceCondition(s.Conditions, t); c != nil {
			out[s.InstanceID] = c.Reason
		}
	}
	return out
}

// countReasons counts instances per reason of condition t.
func countReasons(obj *ecsv1alpha1.KeyPairDetachment, t string) map[string]int {
	return countReasonsIn(&obj.Status, t)
}

func countReasonsIn(s *ecsv1alpha1.KeyPairDetachmentStatus, t string) map[string]int {
	out := map[string]int{}
	for _, r := range reasonsIn(s, t) {
		out[r]++
	}
	return out
}

// rebootRequests counts the real RebootInstances requests: the pre-flight's dry runs are
// RebootInstances calls too.
func rebootRequests(s ecsemu.Stats) int {
	return s.Calls["RebootInstances"] - s.DryRuns["RebootInstances"]
}

// startProxy serves server on a free loopback port until the spec ends and returns its URL.
func startProxy(server *http.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	go func() { _ = server.Serve(ln) }()
	DeferCleanup(server.Close)
	return "http://" + ln.Addr().String()
}
