package controllers

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

var _ = Describe("Detaching a key pair", func() {
	It("ends a 120-instance mixed fleet with the right reason per instance", func() {
		carrying := linux("i-run", 60, "Running", testKey)
		stopped := linux("i-stop", 10, "Stopped", testKey)
		other := linux("i-other", 15, "Running", "AnotherKey")
		none := linux("i-none", 15, "Running", "")
		windows := linux("i-win", 10, "Running", "")
		for n := range windows {
			windows[n].OSType = "windows"
		}
		fleet := slices.Concat(carrying, stopped, other, none, windows)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})

		missing := make([]string, 10)
		for n := range missing {
			missing[n] = "i-missing" + string(rune('a'+n))
		}
		obj := newDetachment(namespace, append(idsOf(fleet), missing...))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
		Expect(objectCondition(final, ecsv1alpha1.ConditionStalled)).To(Equal("True/PartiallyFailed"))
		Expect(objectCondition(final, ecsv1alpha1.ConditionDetached)).To(Equal("False/PartiallyFailed"))
		expectGitOpsHealth(final, "Degraded", "Failed")
		Expect(countReasons(final, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonDetached:         70,
			ecsv1alpha1.ReasonNotAttached:      15,
			ecsv1alpha1.ReasonKeyPairMismatch:  15,
			ecsv1alpha1.ReasonWindowsInstance:  10,
			ecsv1alpha1.ReasonInstanceNotFound: 10,
		}))
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 120, Detached: 85, Failed: 35}))
		for _, s := range final.Status.Instances {
			if reasonsByInstance(final, ecsv1alpha1.ConditionDetached)[s.InstanceID] == ecsv1alpha1.ReasonDetached {
				Expect(s.LastRequestID).NotTo(BeEmpty(), s.InstanceID)
			} else {
				Expect(s.LastRequestID).To(BeEmpty(), s.InstanceID)
			}
		}
		for _, i := range emu.Instances() {
			Expect(i.KeyPairName).NotTo(Equal(testKey), "%s still carries the key", i.InstanceID)
		}
		Expect(emu.Stats().Calls["RebootInstances"]).To(BeZero())
		Expect(emu.Stats().InstanceFailures).To(BeEmpty(), "no detach may name an instance that does not carry the key")
	})
})

var _ = Describe("Detaching at scale and under stress", func() {
	It("detaches 1,000 instances with exactly 20 DetachKeyPair calls and 10 describes per pass", func() {
		emu, url := startEmulator(fleetOf(nil, ecsemu.GenerateSpec{
			Count: 1000, Prefix: "i-gen", RegionID: testRegion, OSType: "linux", Status: "Running", KeyPairName: testKey}))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		ids := make([]string, 1000)
		for n := range ids {
			ids[n] = fmt.Sprintf("i-gen%04d", n+1)
		}
		obj := newDetachment(namespace, ids)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 1000, Detached: 1000}))
		expectGitOpsHealth(final, "Healthy", "Current")
		stats := emu.Stats()
		Expect(stats.Calls["DetachKeyPair"]).To(Equal(20))
		passes := stats.Calls["DescribeKeyPairs"]
		Expect(passes).To(BeNumerically(">=", 1))
		Expect(stats.Calls["DescribeInstances"]).To(Equal(10*passes), "each observation pass describes in pages of 100")
		Expect(stats.InstanceFailures).To(BeEmpty(), "no DetachKeyPair call may name an instance that did not carry the key")
	})

	It("converges under 30% throttling and 10% server errors without failing any instance", func() {
		// 1,000 instances take at least 31 calls, so throttling is all but certain to fire
		// (0.7^31 ≈ 2e-5 that it never does); 5xx answers fire in most runs.
		fleet := linux("i-flaky", 1000, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		Expect(emu.SetFaults(ecsemu.Faults{ThrottleRate: 0.3, ErrorRate: 0.1})).To(Succeed())
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 4*time.Minute)
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 1000, Detached: 1000}))
		Expect(countReasons(final, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonDetached: 1000}))
		stats := emu.Stats()
		Expect(stats.Errors["Throttling.User"]).To(BeNumerically(">", 0), "the faults must really have been injected")
		Expect(stats.InstanceFailures).To(BeEmpty(), "no detach named an instance that did not carry the key")
		GinkgoWriter.Printf("calls %v, injected errors %v\n", stats.Calls, stats.Errors)
	})
})

var _ = Describe("Object-level problems", func() {
	It("reports wrong credentials without touching instances, and recovers when the Secret is fixed", func() {
		fleet := linux("i-cred", 5, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "ecs-credentials", Namespace: namespace},
			StringData: map[string]string{"accessKeyId": testAccessKey, "accessKeySecret": "wrong-secret"},
		}
		Expect(k8sClient.Create(suiteCtx, secret)).To(Succeed())
		obj := newDetachment(namespace, idsOf(fleet))
		obj.Spec.CredentialsSecretRef = &ecsv1alpha1.SecretReference{Name: "ecs-credentials"}
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		failing := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/CredentialsError", time.Minute)
		Expect(objectCondition(failing, ecsv1alpha1.ConditionStalled)).To(Equal("True/CredentialsError"))
		ready := meta.FindStatusCondition(failing.Status.Conditions, ecsv1alpha1.ConditionReady)
		Expect(ready.Message).To(ContainSubstring(namespace + "/ecs-credentials"))
		Expect(ready.Message).NotTo(ContainSubstring("wrong-secret"))
		Expect(countReasons(failing, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonPending: 5}))
		Expect(failing.Status.Summary.Failed).To(BeZero())
		expectGitOpsHealth(failing, "Degraded", "Failed")

		// The backoff bounds the calls a broken Secret costs: over 20 seconds of failures the
		// exponential backoff (0.5 s doubling, capped at a minute) allows about 7 attempts.
		start := time.Now()
		before := emu.Stats().Rejected["SignatureDoesNotMatch"]
		Eventually(func() time.Duration { return time.Since(start) }, 25*time.Second).Should(BeNumerically(">=", 20*time.Second))
		Expect(emu.Stats().Rejected["SignatureDoesNotMatch"] - before).To(BeNumerically("<=", 8))

		// A missing key names the key.
		secret.Data = map[string][]byte{"accessKeyId": []byte(testAccessKey)}
		secret.StringData = nil
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(fetch(obj).Status.Conditions, ecsv1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Message).To(ContainSubstring(`no key "accessKeySecret"`))
		}, 90*time.Second, 200*time.Millisecond).Should(Succeed())

		secret.Data = map[string][]byte{"accessKeyId": []byte(testAccessKey), "accessKeySecret": []byte(testSecret)}
		Expect(k8sClient.Update(suiteCtx, secret)).To(Succeed())
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 90*time.Second)
		Expect(final.Generation).To(Equal(int64(1)), "the object was not edited")
		Expect(final.Status.Summary.Detached).To(Equal(int32(5)))
	})

	It("reports an unknown key pair as KeyPairNotFound and Stalled", func() {
		fleet := linux("i-nokey", 3, "Running", testKey)
		_, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		obj.Spec.KeyPairName = "FinanceJoshuaV62"
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/KeyPairNotFound", time.Minute)
		Expect(objectCondition(final, ecsv1alpha1.ConditionStalled)).To(Equal("True/KeyPairNotFound"))
		Expect(countReasons(final, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonPending: 3}))
	})

	It("makes no ECS call while suspended", func() {
		fleet := linux("i-susp", 3, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		obj.Spec.Suspend = true
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/Suspended", time.Minute)
		Expect(objectCondition(final, ecsv1alpha1.ConditionStalled)).To(Equal("False/Progressing"))
		Expect(emu.Stats().Calls).To(BeEmpty())
		expectGitOpsHealth(final, "Suspended", "InProgress")

		final.Spec.Suspend = false
		Expect(k8sClient.Update(suiteCtx, final)).To(Succeed())
		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
	})
})

var _ = Describe("Keeping the key off", func() {
	It("processes only added instances and drops removed ones from the status", func() {
		first := linux("i-first", 60, "Running", testKey)
		added := linux("i-added", 10, "Running", testKey)
		emu, url := startEmulator(fleetOf(slices.Concat(first, added)))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(first))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		converged := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		requestIDs := map[string]string{}
		for _, s := range converged.Status.Instances {
			requestIDs[s.InstanceID] = s.LastRequestID
		}
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(2))

		converged.Spec.InstanceIDs = append(idsOf(first[10:]), idsOf(added)...)
		Expect(k8sClient.Update(suiteCtx, converged)).To(Succeed())
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 60, Detached: 60}))
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(3), "one more batch, for the 10 added instances only")
		Expect(emu.Stats().InstanceFailures).To(BeEmpty())
		got := map[string]string{}
		for _, s := range final.Status.Instances {
			got[s.InstanceID] = s.LastRequestID
		}
		for _, id := range idsOf(first[:10]) {
			Expect(got).NotTo(HaveKey(id))
		}
		for _, id := range idsOf(first[10:]) {
			Expect(got[id]).To(Equal(requestIDs[id]), "an instance detached before is not touched again")
		}
	})

	It("detaches the key again when someone re-attaches it (drift), at the next resync", func() {
		fleet := linux("i-drift", 5, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace, tweak: func(r *Options) {
			r.ResyncPeriod = 2 * time.Second
		}})
		obj := newDetachment(namespace, idsOf(fleet))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		detaches := emu.Stats().Calls["DetachKeyPair"]

		Expect(emu.SetInstanceKeyPair("i-drift003", testKey)).To(Succeed())
		Eventually(func() string {
			i, _ := emu.Instance("i-drift003")
			return i.KeyPairName
		}, time.Minute, 200*time.Millisecond).Should(BeEmpty())
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(detaches + 1))
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(reasonsByInstance(final, ecsv1alpha1.ConditionDetached)["i-drift003"]).To(Equal(ecsv1alpha1.ReasonDetached))
		events := &eventsv1.EventList{}
		Expect(k8sClient.List(suiteCtx, events, client.InNamespace(namespace))).To(Succeed())
		Expect(events.Items).To(ContainElement(HaveField("Reason", "DriftDetected")))
	})

	It("changes nothing in a converged status when the manager restarts", func() {
		fleet := append(linux("i-rs", 30, "Running", testKey), linux("i-rsw", 2, "Running", "Other")...)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		stop := startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		converged := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
		stop()
		passes := emu.Stats().Calls["DescribeKeyPairs"]
		detaches := emu.Stats().Calls["DetachKeyPair"]

		startManager(managerOptions{endpoint: url, namespace: namespace})
		Eventually(func() int { return emu.Stats().Calls["DescribeKeyPairs"] }, time.Minute, 100*time.Millisecond).
			Should(BeNumerically(">", passes), "the new manager observes once")
		Consistently(func(g Gomega) {
			latest := fetch(obj)
			g.Expect(latest.ResourceVersion).To(Equal(converged.ResourceVersion))
			g.Expect(latest.Status).To(Equal(converged.Status))
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(detaches))
	})
})

var _ = Describe("Two objects naming the same instances", func() {
	It("lets the one that loses the race record NotAttached, not a failure", func() {
		fleet := linux("i-shared", 20, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		first := newDetachment(namespace, idsOf(fleet))
		second := newDetachment(namespace, idsOf(fleet))
		second.Name = "retire-key-too"
		Expect(k8sClient.Create(suiteCtx, first)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, second)).To(Succeed())

		detached := 0
		for _, obj := range []*ecsv1alpha1.KeyPairDetachment{first, second} {
			final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
			Expect(final.Status.Summary.Failed).To(BeZero())
			detached += countReasons(final, ecsv1alpha1.ConditionDetached)[ecsv1alpha1.ReasonDetached]
		}
		Expect(detached).To(Equal(20), "each instance is claimed by exactly one object")
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(BeNumerically("<=", 2))
	})
})
