package controllers

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"

	"k8s.io/utils/ptr"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var _ = Describe("Looking before leaping", func() {
	It("plans a mixed fleet without changing it, then applies exactly the plan", func() {
		running := linux("i-run", 40, "Running", testKey)
		for n := range running[:3] {
			running[n].CloudAssistant = ptr.To(false)
		}
		stopped := linux("i-stop", 5, "Stopped", testKey)
		keyless := linux("i-none", 5, "Running", "")
		other := linux("i-other", 3, "Running", "AnotherKey")
		windows := linux("i-win", 2, "Running", "")
		for n := range windows {
			windows[n].OSType = "windows"
		}
		fleet := append(append(append(append(running, stopped...), keyless...), other...), windows...)
		emu, url := startEmulator(fleetOf(fleet))
		ns := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: ns, tweak: func(o *Options) { o.ECSQPS = 20 }})

		obj := newDetachment(ns, idsOf(fleet))
		obj.Spec.Mode = ecsv1alpha1.ModePlan
		obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: 10}
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		By("the plan: every instance's action, the counts and an estimate, and nothing changed")
		planned := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/Planned", time.Minute)
		Expect(objectCondition(planned, ecsv1alpha1.ConditionStalled)).To(Equal("False/Progressing"))
		Expect(objectCondition(planned, ecsv1alpha1.ConditionPreflightPassed)).To(Equal("False/NoAlternateAccess"),
			"three Running carriers have no Cloud Assistant")
		Expect(countReasons(planned, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonWouldDetach: 45, ecsv1alpha1.ReasonNotAttached: 5,
			ecsv1alpha1.ReasonKeyPairMismatch: 3, ecsv1alpha1.ReasonWindowsInstance: 2}))
		Expect(countReasons(planned, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonWouldReboot: 40, ecsv1alpha1.ReasonPending: 5, ecsv1alpha1.ReasonNotRequired: 10}))
		plan := planned.Status.Plan
		Expect(plan).NotTo(BeNil())
		Expect(*plan).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
			"Generation": Equal(planned.Generation), "Changes": BeEquivalentTo(45), "ChangeCalls": BeEquivalentTo(1),
			"Reboot": BeEquivalentTo(40), "RebootWaves": BeEquivalentTo(4), "Unchanged": BeEquivalentTo(5),
			"Discrepancies": BeEquivalentTo(5), "Summary": ContainSubstring("detach 45 (1 call), reboot 40 in 4 waves, 5 left alone"),
		}))
		Expect(plan.EstimatedDuration.Duration).To(BeNumerically(">=", 4*plan.RebootDuration.Duration))
		stats := emu.Stats()
		Expect(stats.Calls).NotTo(HaveKey("DetachKeyPair"), "a plan never detaches")
		Expect(stats.Reboots).To(BeEmpty(), "a plan never reboots")
		Expect(stats.Calls["RebootInstances"]).To(Equal(1), "one dry run for the 40 Running carriers")
		for _, id := range idsOf(running) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(Equal(testKey))
		}
		Consistently(func() map[string]int { return emu.Stats().Reboots }, 2*time.Second, 200*time.Millisecond).Should(BeEmpty())

		By("Apply: the outcome has the plan's numbers, from the plan's observation")
		beforeApply := emu.Stats().Calls
		apply := fetch(obj)
		apply.Spec.Mode = ecsv1alpha1.ModeApply
		Expect(k8sClient.Update(suiteCtx, apply)).To(Succeed())
		done := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", 2*time.Minute)
		stats = emu.Stats()
		Expect(stats.Calls["DetachKeyPair"]).To(BeEquivalentTo(plan.ChangeCalls))
		Expect(stats.Reboots).To(HaveLen(int(plan.Reboot)))
		for id, n := range stats.Reboots {
			Expect(n).To(Equal(1), "instance %s", id)
		}
		Expect(stats.MaxConcurrentReboots).To(BeNumerically("<=", 10))
		Expect(done.Status.Summary.Detached).To(BeEquivalentTo(plan.Changes + plan.Unchanged))
		Expect(done.Status.Summary.Rebooted).To(BeEquivalentTo(plan.Reboot))
		Expect(done.Status.Summary.Failed).To(BeEquivalentTo(plan.Discrepancies))
		Expect(countReasons(done, ecsv1alpha1.ConditionRebooted)[ecsv1alpha1.ReasonInstanceStopped]).To(Equal(5))
		for _, action := range []string{"DescribeKeyPairs", "DescribeCloudAssistantStatus"} {
			Expect(stats.Calls[action]).To(Equal(beforeApply[action]), "%s is not asked again by the Apply that follows its plan", action)
		}
		Expect(done.Status.Plan.Changes).To(BeEquivalentTo(45), "the plan stays beside the outcome")
	})

	It("shows a reboot permission denial in PreflightPassed before anything is changed", func() {
		carriers := linux("i-deny", 6, "Running", testKey)
		fleet := fleetOf(carriers)
		fleet.Accounts[0].Deny = []string{"RebootInstances"}
		emu, url := startEmulator(fleet)
		ns := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: ns})

		obj := newDetachment(ns, idsOf(carriers))
		obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: 3}
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		refused := eventuallyCondition(obj, ecsv1alpha1.ConditionPreflightPassed, "False/RebootNotPermitted", time.Minute)
		Expect(objectCondition(refused, ecsv1alpha1.ConditionReady)).To(Equal("False/PreflightFailed"))
		Expect(objectCondition(refused, ecsv1alpha1.ConditionStalled)).To(Equal("True/PreflightFailed"))
		Consistently(func() map[string]int { return emu.Stats().Calls }, 2*time.Second, 200*time.Millisecond).
			ShouldNot(HaveKey("DetachKeyPair"))
		for _, id := range idsOf(carriers) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(Equal(testKey), "instance %s keeps its key", id)
		}
		Expect(countReasons(fetch(obj), ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonPending: 6}))
	})

	It("keeps the key on instances without another way in when asked to", func() {
		reachable := linux("i-ok", 4, "Running", testKey)
		locked := linux("i-noca", 3, "Running", testKey)
		for n := range locked {
			locked[n].CloudAssistant = ptr.To(false)
		}
		emu, url := startEmulator(fleetOf(append(reachable, locked...)))
		ns := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: ns})

		obj := newDetachment(ns, idsOf(append(reachable, locked...)))
		obj.Spec.RequireAlternateAccess = true
		obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: 4}
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		done := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
		Expect(objectCondition(done, ecsv1alpha1.ConditionPreflightPassed)).To(Equal("False/NoAlternateAccess"))
		byInstance := reasonsByInstance(done, ecsv1alpha1.ConditionDetached)
		for _, id := range idsOf(locked) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(Equal(testKey), "instance %s keeps its key", id)
			Expect(byInstance[id]).To(Equal(ecsv1alpha1.ReasonNoAlternateAccess))
			Expect(emu.Stats().Reboots).NotTo(HaveKey(id))
		}
		for _, id := range idsOf(reachable) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(BeEmpty())
			Expect(emu.Stats().Reboots[id]).To(Equal(1))
		}
	})
})
