package controllers

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// The stories of issue 9: ordinary user actions and faults, each checked against the
// emulator's reboot counters. The guarantees table of the README points here.
var _ = Describe("Never twice", func() {
	It("(b) reboot on, Ready, off, on: no instance is rebooted a second time and Rebooted survives off", func() {
		fleet := linux("i-tog", 20, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 10, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		done := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		expectRebootedOnce(emu, idsOf(fleet))

		done.Spec.Reboot.Enabled = false
		Expect(k8sClient.Update(suiteCtx, done)).To(Succeed())
		off := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(countReasons(off, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonRebooted: 20}),
			"Rebooted conditions say what happened, whatever the spec says now")
		Expect(off.Finalizers).To(BeEmpty())

		off.Spec.Reboot.Enabled = true
		off.Spec.Reboot.MaxConcurrent = 20
		Expect(k8sClient.Update(suiteCtx, off)).To(Succeed())
		on := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(on.Status.Summary.Rebooted).To(Equal(int32(20)))
		Consistently(func() map[string]int { return emu.Stats().Reboots }, 2*time.Second, 100*time.Millisecond).
			Should(HaveLen(20))
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(rebootRequests(emu.Stats())).To(Equal(2), "two waves of ten, nothing after the toggle")
	})

	It("(c) two objects on the same 120 instances, both rebooting, 30% throttled: each instance rebooted once", func() {
		fleet := linux("i-two", 120, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		Expect(emu.SetFaults(ecsemu.Faults{ThrottleRate: 0.3})).To(Succeed())
		startManager(managerOptions{endpoint: url, namespace: namespace})
		a, b := twoDetachments(namespace, idsOf(fleet), true)
		Expect(k8sClient.Create(suiteCtx, a)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, b)).To(Succeed())
		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				GinkgoWriter.Printf("stats %+v\nA %+v\nB %+v\n", emu.Stats(), countReasons(fetch(a), ecsv1alpha1.ConditionRebooted),
					countReasons(fetch(b), ecsv1alpha1.ConditionRebooted))
			}
		})

		finalA := eventuallyCondition(a, ecsv1alpha1.ConditionReady, "True/Ready", 5*time.Minute)
		finalB := eventuallyCondition(b, ecsv1alpha1.ConditionReady, "True/Ready", 5*time.Minute)
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().Errors["Throttling.User"]).To(BeNumerically(">", 0), "the story ran throttled")
		byA := reasonsByInstance(finalA, ecsv1alpha1.ConditionRebooted)
		byB := reasonsByInstance(finalB, ecsv1alpha1.ConditionRebooted)
		for _, id := range idsOf(fleet) {
			Expect([]string{byA[id], byB[id]}).To(ConsistOf(ecsv1alpha1.ReasonRebooted, ecsv1alpha1.ReasonRebootedByOther),
				"%s: one object rebooted it, the other says so", id)
		}
		for _, final := range []*ecsv1alpha1.KeyPairDetachment{finalA, finalB} {
			Expect(final.Status.Summary.Rebooted).To(Equal(int32(120)))
			for _, s := range final.Status.Instances {
				if s.Reboot != nil && s.Reboot.By != "" {
					Expect(s.Reboot.By).To(BeElementOf(namespace+"/"+a.Name, namespace+"/"+b.Name))
					Expect(s.Reboot.By).NotTo(Equal(namespace + "/" + final.Name))
				}
			}
		}
	})

	It("(d) the same, but the first object has reboot disabled: the other reboots each instance once", func() {
		fleet := linux("i-dis", 120, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		Expect(emu.SetFaults(ecsemu.Faults{ThrottleRate: 0.3})).To(Succeed())
		startManager(managerOptions{endpoint: url, namespace: namespace})
		a, b := twoDetachments(namespace, idsOf(fleet), true)
		a.Spec.Reboot.Enabled = false
		Expect(k8sClient.Create(suiteCtx, a)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, b)).To(Succeed())

		eventuallyCondition(a, ecsv1alpha1.ConditionReady, "True/Ready", 5*time.Minute)
		finalB := eventuallyCondition(b, ecsv1alpha1.ConditionReady, "True/Ready", 5*time.Minute)
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(countReasons(finalB, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonRebooted: 120}))
		Expect(countReasons(fetch(a), ecsv1alpha1.ConditionRebooted)).To(BeEmpty(), "reboot is off for the first object")
	})

	It("(e) a person detaches some instances by hand while a batch is throttled: those are not rebooted", func() {
		fleet := linux("i-hand", 10, "Running", testKey)
		emu, emuURL := startEmulator(fleetOf(fleet))
		byHand := []string{"i-hand002", "i-hand005", "i-hand009"}
		var throttled atomic.Bool
		proxyURL := startActionProxy(emuURL, func(action string, forward func()) bool {
			if action == "DetachKeyPair" && throttled.CompareAndSwap(false, true) {
				Expect(emu.SetFaults(ecsemu.Faults{ThrottleRate: 1})).To(Succeed())
				forward() // ECS throttles the batch...
				Expect(emu.SetFaults(ecsemu.Faults{})).To(Succeed())
				for _, id := range byHand { // ...while a person detaches in the console
					Expect(emu.SetInstanceKeyPair(id, "")).To(Succeed())
				}
			}
			return false
		})
		namespace := newNamespace()
		startManager(managerOptions{endpoint: proxyURL, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 10, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		Expect(throttled.Load()).To(BeTrue())
		Expect(emu.Stats().Errors["Throttling.User"]).To(Equal(1))
		detached := reasonsByInstance(final, ecsv1alpha1.ConditionDetached)
		rebooted := reasonsByInstance(final, ecsv1alpha1.ConditionRebooted)
		reboots := emu.Stats().Reboots
		for _, id := range byHand {
			Expect(detached[id]).To(Equal(ecsv1alpha1.ReasonNotAttached), id)
			Expect(rebooted[id]).To(Equal(ecsv1alpha1.ReasonNotRequired), id)
			Expect(reboots[id]).To(BeZero(), "%s was detached by a person, not by the operator", id)
		}
		Expect(reboots).To(HaveLen(7))
		Expect(final.Status.Summary.Rebooted).To(Equal(int32(7)))
	})

	DescribeTable("(f) with the manager's clock 5 minutes off ECS's, a lost reboot answer still reboots each instance once",
		func(skew time.Duration) {
			fleet := linux("i-skew", 6, "Running", testKey)
			emu, emuURL := startEmulator(fleetOf(fleet))
			var held atomic.Int32
			proxyURL := startActionProxy(emuURL, func(action string, forward func()) bool {
				forward()
				// ECS carries out the first reboot request, and its answer is lost.
				return action == "RebootInstances" && held.Add(1) == 1
			})
			namespace := newNamespace()
			clock := &testClock{}
			clock.advance(skew)
			startManager(managerOptions{endpoint: proxyURL, namespace: namespace, clock: clock})
			obj := newDetachment(namespace, idsOf(fleet))
			withReboot(obj, 3, 0, time.Minute)
			Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

			final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
			Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonRebooted: 6}))
			expectRebootedOnce(emu, idsOf(fleet))
			Expect(rebootRequests(emu.Stats())).To(Equal(2), "three and three; the lost one is not asked again")
		},
		Entry("5 minutes ahead", 5*time.Minute),
		Entry("5 minutes behind", -5*time.Minute),
	)

	It("(g) halt, resume, halt, resume with hung instances: one request each, whatever the toggles", func() {
		fleet := linux("i-hr", 6, "Running", testKey)
		fleet[0].RebootHang, fleet[1].RebootHang = true, true
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		clock := &testClock{}
		startManager(managerOptions{endpoint: url, namespace: namespace, clock: clock})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 1, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		hangUntilHalted := func(id string) *ecsv1alpha1.KeyPairDetachment {
			Eventually(func() string { return reasonsByInstance(fetch(obj), ecsv1alpha1.ConditionRebooted)[id] }, time.Minute).
				Should(BeElementOf(ecsv1alpha1.ReasonRebootRequested, ecsv1alpha1.ReasonRebooting))
			clock.advance(2 * time.Minute)
			return eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/RolloutHalted", time.Minute)
		}
		edit := func(change func(*ecsv1alpha1.RebootSpec)) {
			Eventually(func() error {
				latest := fetch(obj)
				change(&latest.Spec.Reboot)
				return k8sClient.Update(suiteCtx, latest)
			}, 10*time.Second).Should(Succeed())
		}

		hangUntilHalted("i-hr001")
		edit(func(r *ecsv1alpha1.RebootSpec) { r.Enabled = false })
		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
		edit(func(r *ecsv1alpha1.RebootSpec) { r.Enabled = true })
		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/RolloutHalted", time.Minute)
		edit(func(r *ecsv1alpha1.RebootSpec) { r.MaxFailures = 1 }) // resume
		hangUntilHalted("i-hr002")
		edit(func(r *ecsv1alpha1.RebootSpec) { r.Timeout.Duration = 2 * time.Hour; r.MaxConcurrent = 5 })
		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/RolloutHalted", time.Minute)
		edit(func(r *ecsv1alpha1.RebootSpec) { r.MaxFailures = 2 }) // resume again

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
		Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonRebooted: 4, ecsv1alpha1.ReasonRebootFailed: 2}))
		for _, s := range final.Status.Instances {
			Expect(s.Reboot).NotTo(BeNil())
			Expect(s.Reboot.Attempts).To(Equal(int32(1)), s.InstanceID)
		}
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().InstanceFailures).NotTo(HaveKey("IncorrectInstanceStatus"),
			"no second request reached a hung instance")
	})

	It("(h) deleted mid-rollout: in-flight reboots settle, the Event names the rest; re-created, nothing is rebooted twice", func() {
		fleet := linux("i-del", 10, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		emu.SetLifecycle(2*time.Second, 2*time.Second)
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 2, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		Eventually(func() int { return len(emu.Stats().Reboots) }, time.Minute, 50*time.Millisecond).Should(BeNumerically(">=", 3))
		Expect(fetch(obj).Finalizers).To(ContainElement(ecsv1alpha1.FinalizerRebootsInFlight))

		Expect(k8sClient.Delete(suiteCtx, obj)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, keyOf(obj), &ecsv1alpha1.KeyPairDetachment{}))
		}, time.Minute, 100*time.Millisecond).Should(BeTrue(), "deletion completes once the reboots in flight settled")
		reboots := emu.Stats().Reboots
		Expect(len(reboots)).To(BeNumerically("<", 10), "no reboot started after the deletion")
		for _, id := range idsOf(fleet) {
			instance, _ := emu.Instance(id)
			Expect(instance.Status).To(Equal("Running"), "%s was left mid-reboot", id)
		}
		var note string
		Eventually(func() string {
			list := &eventsv1.EventList{}
			Expect(k8sClient.List(suiteCtx, list, client.InNamespace(namespace))).To(Succeed())
			for _, e := range list.Items {
				if e.Reason == "DeletedBeforeReboot" {
					note = e.Note
				}
			}
			return note
		}, 10*time.Second).ShouldNot(BeEmpty())
		for _, id := range idsOf(fleet) {
			if reboots[id] == 0 {
				Expect(note).To(ContainSubstring(id), "the Event names %s, detached but not rebooted", id)
			} else {
				Expect(note).NotTo(ContainSubstring(id), "%s was rebooted", id)
			}
		}

		again := newDetachment(namespace, idsOf(fleet))
		withReboot(again, 2, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, again)).To(Succeed())
		eventuallyCondition(again, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		for id, n := range emu.Stats().Reboots {
			Expect(n).To(Equal(1), "%s rebooted %d times", id, n)
		}
	})
})

// twoDetachments are two objects naming the same instances and key pair.
func twoDetachments(namespace string, ids []string, reboot bool) (a, b *ecsv1alpha1.KeyPairDetachment) {
	a, b = newDetachment(namespace, ids), newDetachment(namespace, ids)
	a.Name, b.Name = "team-a", "team-b"
	withReboot(a, 50, 0, 5*time.Minute)
	withReboot(b, 50, 0, 5*time.Minute)
	a.Spec.Reboot.Enabled, b.Spec.Reboot.Enabled = reboot, reboot
	return a, b
}

// startActionProxy serves a proxy to the emulator that hands each request to intercept with
// its ECS action and a forward func. intercept may act before or after forwarding, and lose
// the answer (ECS acted, the client hears nothing) by returning true.
func startActionProxy(emuURL string, intercept func(action string, forward func()) (lose bool)) string {
	target, err := url.Parse(emuURL)
	Expect(err).NotTo(HaveOccurred())
	proxy := httputil.NewSingleHostReverseProxy(target)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.Header.Get("x-acs-action")
		if action == "" {
			action = r.URL.Query().Get("Action")
		}
		var answer *bufferedResponse
		forward := func() {
			// Forwarded whatever the client does meanwhile, as a cloud API would.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
			defer cancel()
			answer = &bufferedResponse{header: http.Header{}}
			proxy.ServeHTTP(answer, r.WithContext(ctx))
		}
		lose := func() bool {
			defer GinkgoRecover()
			return intercept(action, forward)
		}()
		if answer == nil {
			forward()
		}
		if lose {
			panic(http.ErrAbortHandler) // closes the connection without a byte of the answer
		}
		answer.replay(w)
	})
	return startProxy(&http.Server{Handler: handler, ReadHeaderTimeout: time.Second})
}

// bufferedResponse holds an answer until the interceptor lets it go, so that aborting after
// forwarding loses the whole answer.
type bufferedResponse struct {
	header http.Header
	status int
	body   strings.Builder
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedResponse) replay(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(b.status, http.StatusOK))
	_, _ = w.Write([]byte(b.body.String()))
}
