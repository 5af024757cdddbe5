package controllers

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

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
		fleet := append(append(append(append(append([]ecsemu.InstanceSpec{}, carrying...), stopped...), other...), none...), windows...)
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
