package controllers

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// The short version of the soak in test/bench (issue 10): several objects rebooting under 30%
// throttling and 10% 5xx answers, the manager stopped three times mid-rollout. The bench
// measures how fast; this story holds the outcome: every Running instance rebooted exactly
// once, no cap exceeded, nothing failed.
var _ = Describe("A faulted rollout with manager restarts", func() {
	It("reboots every Running instance exactly once and fails none", func() {
		const objects, perObject, maxConcurrent = 4, 20, 3
		fleet := make([]ecsemu.InstanceSpec, 0, objects*perObject)
		for o := range objects {
			fleet = append(fleet, linux(fmt.Sprintf("i-soak%d", o), perObject, "Running", testKey)...)
		}
		fleet[0].Status, fleet[perObject].Status = "Stopped", "Stopped"
		fleet[1].KeyPairName = ""
		emu, url := startEmulator(fleetOf(fleet))
		Expect(emu.SetFaults(ecsemu.Faults{ThrottleRate: 0.3, ErrorRate: 0.1})).To(Succeed())
		namespace := newNamespace()
		stop := startManager(managerOptions{endpoint: url, namespace: namespace})
		objs := make([]*ecsv1alpha1.KeyPairDetachment, 0, objects)
		for o := range objects {
			obj := newDetachment(namespace, idsOf(fleet[o*perObject:(o+1)*perObject]))
			obj.Name = fmt.Sprintf("part-%d", o)
			withReboot(obj, maxConcurrent, 0, 15*time.Minute)
			Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
			objs = append(objs, obj)
		}
		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				GinkgoWriter.Printf("stats %+v\n", emu.Stats())
				for _, obj := range objs {
					latest := fetch(obj)
					GinkgoWriter.Printf("%s: %v %v\n", obj.Name, latest.Status.Conditions, countReasons(latest, ecsv1alpha1.ConditionRebooted))
					for _, s := range latest.Status.Instances {
						GinkgoWriter.Printf("  %s %v detach=%+v reboot=%+v\n", s.InstanceID, s.Conditions, s.Detach, s.Reboot)
					}
				}
			}
		})

		running := objects*perObject - 2 - 1
		for _, share := range []int{20, 45, 70} {
			Eventually(func() int { return len(emu.Stats().Reboots) }, 3*time.Minute, 50*time.Millisecond).
				Should(BeNumerically(">=", running*share/100))
			stop()
			stop = startManager(managerOptions{endpoint: url, namespace: namespace})
		}

		failed := int32(0)
		for _, obj := range objs {
			final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 3*time.Minute)
			failed += final.Status.Summary.Failed
		}
		Expect(failed).To(BeZero())
		stats := emu.Stats()
		Expect(stats.Errors["Throttling.User"]).To(BeNumerically(">", 0), "the story ran throttled")
		Expect(stats.Reboots).To(HaveLen(running))
		for id, n := range stats.Reboots {
			Expect(n).To(Equal(1), "%s rebooted %d times", id, n)
		}
		Expect(stats.MaxConcurrentReboots).To(BeNumerically("<=", objects*maxConcurrent))
		GinkgoWriter.Printf("calls %v, injected errors %v\n", stats.Calls, stats.Errors)
	})
})
