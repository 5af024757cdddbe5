package controllers

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

func withReboot(obj *ecsv1alpha1.KeyPairDetachment, maxConcurrent, maxFailures int32, timeout time.Duration) {
	obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: maxConcurrent, MaxFailures: maxFailures,
		Timeout: &metav1.Duration{Duration: timeout}}
}

// expectRebootedOnce asserts that each instance was rebooted exactly once by the emulator.
func expectRebootedOnce(emu *ecsemu.Emulator, ids []string) {
	reboots := emu.Stats().Reboots
	for _, id := range ids {
		ExpectWithOffset(1, reboots[id]).To(Equal(1), "reboots of %s", id)
	}
}

var _ = Describe("The reboot phase", func() {
	It("reboots every Running instance exactly once, at most maxConcurrent at a time, and never starts a Stopped one", func() {
		running := linux("i-rb", 60, "Running", testKey)
		stopped := linux("i-rbs", 3, "Stopped", testKey)
		emu, url := startEmulator(fleetOf(slices.Concat(running, stopped)))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(slices.Concat(running, stopped)))
		withReboot(obj, 5, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 3*time.Minute)
		Expect(objectCondition(final, ecsv1alpha1.ConditionRebooted)).To(Equal("True/AllRebooted"))
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 63, Detached: 63, Rebooted: 60}))
		Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonRebooted: 60, ecsv1alpha1.ReasonInstanceStopped: 3}))
		stats := emu.Stats()
		expectRebootedOnce(emu, idsOf(running))
		Expect(stats.Reboots).To(HaveLen(60), "stopped instances are never rebooted")
		Expect(stats.MaxConcurrentReboots).To(BeNumerically("<=", 5))
		Expect(stats.MaxConcurrentReboots).To(BeNumerically(">", 1), "the rollout runs in parallel")
		Expect(stats.ForceReboots).To(BeZero(), "forceStop false never power-cycles")
		for _, id := range idsOf(stopped) {
			i, _ := emu.Instance(id)
			Expect(i.Status).To(Equal("Stopped"))
		}
	})

	It("makes no reboot call and writes no Rebooted condition when reboot is disabled", func() {
		fleet := linux("i-norb", 10, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(meta.FindStatusCondition(final.Status.Conditions, ecsv1alpha1.ConditionRebooted)).To(BeNil())
		Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(BeEmpty())
		Expect(emu.Stats().Calls["RebootInstances"] + emu.Stats().Calls["RebootInstance"]).To(BeZero())
	})

	It("reboots exactly once across three manager restarts during the rollout", func() {
		fleet := linux("i-crash", 80, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		emu.SetLifecycle(time.Second, time.Second)
		namespace := newNamespace()
		opts := managerOptions{endpoint: url, namespace: namespace, callTimeout: 2 * time.Second}
		stop := startManager(opts)
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 10, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		for n, threshold := range []int{10, 30, 50} {
			Eventually(func() int { return len(emu.Stats().Reboots) }, 2*time.Minute, 20*time.Millisecond).
				Should(BeNumerically(">=", threshold))
			if n == 0 {
				midway := fetch(obj)
				Expect(objectCondition(midway, ecsv1alpha1.ConditionReady)).To(Equal("False/InProgress"))
				expectGitOpsHealth(midway, "Progressing", "InProgress")
			}
			stop()
			stop = startManager(opts)
		}
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 3*time.Minute)
		Expect(final.Status.Summary.Rebooted).To(Equal(int32(80)))
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().MaxConcurrentReboots).To(BeNumerically("<=", 10))
	})

	It("makes no RebootInstances call when the RebootRequested marker write conflicts", func() {
		fleet := linux("i-conflict", 6, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		var mu sync.Mutex
		conflicts, callsAtConflict, callsAtNextMarker := 0, -1, -1
		hasMarker := func(obj client.Object) bool {
			kpd, ok := obj.(*ecsv1alpha1.KeyPairDetachment)
			if !ok {
				return false
			}
			for _, s := range kpd.Status.Instances {
				if c := ecsv1alpha1.FindInstanceCondition(s.Conditions, ecsv1alpha1.ConditionRebooted); c != nil &&
					c.Reason == ecsv1alpha1.ReasonRebootRequested {
					return true
				}
			}
			return false
		}
		startManager(managerOptions{endpoint: url, namespace: namespace, wrapClient: func(c client.Client) client.Client {
			return statusHook{Client: c, update: func(ctx context.Context, w client.SubResourceWriter, obj client.Object,
				opts ...client.SubResourceUpdateOption) error {
				if hasMarker(obj) {
					mu.Lock()
					calls := rebootRequests(emu.Stats())
					switch {
					case conflicts == 0:
						conflicts++
						callsAtConflict = calls
						mu.Unlock()
						return apierrors.NewConflict(schema.GroupResource{Group: ecsv1alpha1.GroupVersion.Group,
							Resource: "keypairdetachments"}, obj.GetName(), nil)
					case callsAtNextMarker < 0:
						callsAtNextMarker = calls
					}
					mu.Unlock()
				}
				return w.Update(ctx, obj, opts...)
			}}
		}})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 10, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		mu.Lock()
		defer mu.Unlock()
		Expect(conflicts).To(Equal(1))
		Expect(callsAtConflict).To(Equal(0))
		Expect(callsAtNextMarker).To(Equal(callsAtConflict), "the conflicted attempt made no RebootInstances call")
		expectRebootedOnce(emu, idsOf(fleet))
	})

	It("halts the rollout when an instance never comes back, and resumes when maxFailures is raised", func() {
		fleet := linux("i-hang", 8, "Running", testKey)
		fleet[0].RebootHang = true
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		clock := &testClock{}
		startManager(managerOptions{endpoint: url, namespace: namespace, clock: clock})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 1, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		Eventually(func() string { return reasonsByInstance(fetch(obj), ecsv1alpha1.ConditionRebooted)["i-hang001"] }, time.Minute).
			Should(BeElementOf(ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting))
		clock.advance(2 * time.Minute) // past spec.reboot.timeout for the hung instance

		halted := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/RolloutHalted", 2*time.Minute)
		Expect(objectCondition(halted, ecsv1alpha1.ConditionStalled)).To(Equal("True/RolloutHalted"))
		expectGitOpsHealth(halted, "Degraded", "Failed")
		reasons := countReasons(halted, ecsv1alpha1.ConditionRebooted)
		Expect(reasons[ecsv1alpha1.ReasonRebootFailed]).To(Equal(1))
		Expect(reasons[ecsv1alpha1.ReasonRolloutHalted]).To(Equal(8 - 1 - reasons[ecsv1alpha1.ReasonRebooted]))
		Expect(reasons[ecsv1alpha1.ReasonRolloutHalted]).To(BeNumerically(">", 0))
		Expect(reasonsByInstance(halted, ecsv1alpha1.ConditionRebooted)["i-hang001"]).To(Equal(ecsv1alpha1.ReasonRebootFailed))
		Expect(halted.Status.Summary.Failed).To(Equal(int32(1)))
		rebootsWhileHalted := len(emu.Stats().Reboots)
		Consistently(func() int { return len(emu.Stats().Reboots) }, time.Second, 100*time.Millisecond).
			Should(Equal(rebootsWhileHalted), "no new reboot starts while halted")

		halted.Spec.Reboot.MaxFailures = 1
		Expect(k8sClient.Update(suiteCtx, halted)).To(Succeed())
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", 2*time.Minute)
		Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonRebooted: 7, ecsv1alpha1.ReasonRebootFailed: 1}))
		expectRebootedOnce(emu, idsOf(fleet))
	})

	It("does not reboot twice when the reboot call times out on the client side", func() {
		fleet := linux("i-slow", 3, "Running", testKey)
		emu, emuURL := startEmulator(fleetOf(fleet))
		// A proxy that holds RebootInstances longer than the client's call timeout, then lets
		// it through: ECS carries the reboot out after the client gave up.
		target, err := url.Parse(emuURL)
		Expect(err).NotTo(HaveOccurred())
		proxy := httputil.NewSingleHostReverseProxy(target)
		var held atomic.Int32
		slowReboots := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("x-acs-action") == "RebootInstances" && r.URL.Query().Get("DryRun") != "true" {
				held.Add(1)
				// Hold the call until the client has given up on it (its connection closes).
				select {
				case <-r.Context().Done():
				case <-time.After(time.Minute):
				}
			}
			// Forwarded even when the client has given up, as a cloud API would. The context must
			// be cancellable, or the proxy falls back to cancelling when the client hangs up.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
			defer cancel()
			proxy.ServeHTTP(w, r.WithContext(ctx))
		})
		server := &http.Server{Handler: slowReboots, ReadHeaderTimeout: time.Second}
		proxyURL := startProxy(server)

		namespace := newNamespace()
		// The call timeout leaves a loaded machine time to deliver the request; the proxy then
		// holds it until the client has timed out.
		startManager(managerOptions{endpoint: proxyURL, namespace: namespace, callTimeout: 3 * time.Second})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 10, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				GinkgoWriter.Printf("emulator stats: %+v\ninstances: %+v\nstatus: %+v\n", emu.Stats(), emu.Instances(), fetch(obj).Status)
			}
		})
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		Expect(final.Status.Summary.Rebooted).To(Equal(int32(3)))
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(held.Load()).To(Equal(int32(1)), "one reboot call, held past the client's timeout")
		Expect(rebootRequests(emu.Stats())).To(Equal(1))
	})
})

// statusHook lets a test intercept status updates of the reconciler's client.
type statusHook struct {
	client.Client
	update func(ctx context.Context, w client.SubResourceWriter, obj client.Object, opts ...client.SubResourceUpdateOption) error
}

func (c statusHook) Status() client.SubResourceWriter {
	return hookedStatusWriter{SubResourceWriter: c.Client.Status(), update: c.update}
}

type hookedStatusWriter struct {
	client.SubResourceWriter
	update func(ctx context.Context, w client.SubResourceWriter, obj client.Object, opts ...client.SubResourceUpdateOption) error
}

func (w hookedStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return w.update(ctx, w.SubResourceWriter, obj, opts...)
}
