package controllers

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var _ = Describe("A reboot window", func() {
	It("starts no reboot outside it, lets started ones finish, and resumes at the next opening across midnight", func() {
		fleet := linux("i-win", 6, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		ns := newNamespace()
		clock := &testClock{}
		// Sunday 23:00 UTC of the coming week: the window below opens at 23:30 and closes
		// at 00:30 on Monday.
		now := time.Now().UTC()
		sunday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		sunday = sunday.AddDate(0, 0, (7-int(sunday.Weekday()))%7+7)
		jumpTo := func(t time.Time) { clock.advance(t.Sub(clock.now())) }
		jumpTo(sunday.Add(23 * time.Hour))
		// A short resync stands in for the wait until the opening (the unit table checks that
		// requeue): the jumps of this clock do not move the workqueue's timers.
		startManager(managerOptions{endpoint: url, namespace: ns, clock: clock,
			tweak: func(o *Options) { o.ResyncPeriod = time.Second }})

		obj := newDetachment(ns, idsOf(fleet))
		obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: 2,
			Timeout: &metav1.Duration{Duration: 24 * time.Hour},
			Window:  &ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{"Sunday"}, StartTime: "23:30", EndTime: "00:30"}}
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		By("before the opening: detached at once, no reboot")
		waiting := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "False/WaitingForWindow", time.Minute)
		Expect(objectCondition(waiting, ecsv1alpha1.ConditionStalled)).To(Equal("False/Progressing"))
		Expect(countReasons(waiting, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonDetached: 6}))
		Expect(countReasons(waiting, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonWaitingForWindow: 6}))
		// Reboots performed: the pre-flight's dry run is a RebootInstances call too.
		Consistently(func() int { return len(emu.Stats().Reboots) }, 3*time.Second, 200*time.Millisecond).Should(BeZero())

		By("inside the opening, after midnight: reboots start, two at a time")
		jumpTo(sunday.AddDate(0, 0, 1).Add(10 * time.Minute))
		Eventually(func() int { return len(emu.Stats().Reboots) }, time.Minute, 50*time.Millisecond).Should(BeNumerically(">=", 1))

		By("after the close: started reboots finish, no new one starts")
		jumpTo(sunday.AddDate(0, 0, 1).Add(40 * time.Minute))
		var started int
		Eventually(func(g Gomega) {
			latest := fetch(obj)
			g.Expect(countReasons(latest, ecsv1alpha1.ConditionRebooted)).NotTo(HaveKey(ecsv1alpha1.ReasonRebootRequested))
			g.Expect(countReasons(latest, ecsv1alpha1.ConditionRebooted)).NotTo(HaveKey(ecsv1alpha1.ReasonRebooting))
			g.Expect(objectCondition(latest, ecsv1alpha1.ConditionReady)).To(Equal("False/WaitingForWindow"))
			started = len(emu.Stats().Reboots)
		}, time.Minute, 100*time.Millisecond).Should(Succeed())
		Expect(started).To(BeNumerically("<", 6), "the close came before the rollout ended")
		Consistently(func() int { return len(emu.Stats().Reboots) }, 3*time.Second, 200*time.Millisecond).Should(Equal(started))
		Expect(countReasons(fetch(obj), ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonRebooted: started, ecsv1alpha1.ReasonWaitingForWindow: 6 - started}))

		By("the next Sunday's opening: the rest, each rebooted once")
		jumpTo(sunday.AddDate(0, 0, 7).Add(23*time.Hour + 31*time.Minute))
		done := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(done.Status.Summary.Rebooted).To(BeEquivalentTo(6))
		for _, id := range idsOf(fleet) {
			Expect(emu.Stats().Reboots[id]).To(Equal(1), "instance %s", id)
		}
	})
})
