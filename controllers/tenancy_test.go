package controllers

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

var _ = Describe("The manager's own identity", func() {
	It("acts only for the namespaces granted it; a Secret of its own works anywhere, also as a fix", func() {
		denied := linux("i-denied", 3, "Running", testKey)
		granted := linux("i-granted", 3, "Running", testKey)
		ownSecret := linux("i-secret", 3, "Running", testKey)
		emu, url := startEmulator(fleetOf(append(append(denied, granted...), ownSecret...)))
		home, tenant := newNamespace(), newNamespace()
		startManager(managerOptions{endpoint: url, namespace: home, otherNamespaces: []string{tenant}})

		By("an object in a namespace not granted the identity, without a Secret")
		intruder := newDetachment(tenant, idsOf(denied))
		intruder.Name = "no-secret"
		Expect(k8sClient.Create(suiteCtx, intruder)).To(Succeed())
		refused := eventuallyCondition(intruder, ecsv1alpha1.ConditionReady, "False/ManagerIdentityNotAllowed", time.Minute)
		Expect(objectCondition(refused, ecsv1alpha1.ConditionStalled)).To(Equal("True/ManagerIdentityNotAllowed"))
		Expect(refused.Status.ObservedGeneration).To(Equal(refused.Generation))
		Expect(emu.Stats().Calls).To(BeEmpty(), "the refused object must not reach ECS at all")

		By("an object in the granted namespace, without a Secret")
		own := newDetachment(home, idsOf(granted))
		Expect(k8sClient.Create(suiteCtx, own)).To(Succeed())
		eventuallyCondition(own, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)

		By("an object in the other namespace with a Secret of its own (values as --from-file leaves them)")
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "team-credentials", Namespace: tenant},
			StringData: map[string]string{"accessKeyId": testAccessKey + "\n", "accessKeySecret": testSecret + "\n"},
		}
		Expect(k8sClient.Create(suiteCtx, secret)).To(Succeed())
		withSecret := newDetachment(tenant, idsOf(ownSecret))
		withSecret.Name = "with-secret"
		withSecret.Spec.CredentialsSecretRef = &ecsv1alpha1.SecretReference{Name: secret.Name}
		Expect(k8sClient.Create(suiteCtx, withSecret)).To(Succeed())
		eventuallyCondition(withSecret, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)

		By("the refused object's instances still carry the key, and it is still refused")
		for _, id := range idsOf(denied) {
			inst, ok := emu.Instance(id)
			Expect(ok).To(BeTrue())
			Expect(inst.KeyPairName).To(Equal(testKey), "instance %s", id)
		}
		for _, id := range append(idsOf(granted), idsOf(ownSecret)...) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(BeEmpty(), "instance %s", id)
		}
		Expect(objectCondition(fetch(intruder), ecsv1alpha1.ConditionReady)).To(Equal("False/ManagerIdentityNotAllowed"))

		By("the fix the message gives: the refused object names a Secret of its own")
		fixed := fetch(intruder)
		fixed.Spec.CredentialsSecretRef = &ecsv1alpha1.SecretReference{Name: secret.Name}
		Expect(k8sClient.Update(suiteCtx, fixed)).To(Succeed())
		eventuallyCondition(intruder, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		for _, id := range idsOf(denied) {
			inst, _ := emu.Instance(id)
			Expect(inst.KeyPairName).To(BeEmpty(), "instance %s", id)
		}
	})
})
