package controllers

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var _ = Describe("A 1,000-instance rollout", func() {
	It("leaves an object, as the API server stores it, within the status-size bounds", func() {
		// ECS's instance IDs are 22 characters long ("i-" and 20 more).
		fleet := linux("i-bp1size", 1000, "Running", testKey)
		for k := range fleet {
			fleet[k].InstanceID = fmt.Sprintf("i-bp1size%013d", k)
			Expect(fleet[k].InstanceID).To(HaveLen(22))
		}
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 100, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", 5*time.Minute)
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 1000, Detached: 1000, Rebooted: 1000}))
		expectRebootedOnce(emu, idsOf(fleet))

		// What etcd holds: the object with its managedFields, as the API server returns it.
		object, perInstance, err := sizes(final)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("Status size at 1,000 rebooted instances: object %d bytes (managedFields included), "+
			"%d bytes per status entry\n", object, perInstance)
		Expect(perInstance).To(BeNumerically("<=", maxBytesPerSuccessfulInstance))
		Expect(object).To(BeNumerically("<=", maxObjectBytes))
	})
})
