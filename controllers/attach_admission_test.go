package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// The attachment's spec is the detachment's (admission_test.go covers those fields) plus
// replaceKeyPairs, which the API server validates as the manager reads it.
var _ = Describe("KeyPairAttachment admission", func() {
	var namespace string
	BeforeEach(func() { namespace = newNamespace() })

	valid := func(replace ...string) *ecsv1alpha1.KeyPairAttachment {
		obj := newAttachment(namespace, "", newKey, []string{"i-bp67acfmxazb4ph1"}, replace...)
		obj.GenerateName = "kpa-"
		return obj
	}

	It("accepts the rotation sample and fills in the defaults a detachment gets", func() {
		sample := &ecsv1alpha1.KeyPairAttachment{}
		createSample("ecs_v1alpha1_keypairattachment_rotation.yaml", namespace, sample)
		stored := &ecsv1alpha1.KeyPairAttachment{}
		Expect(k8sClient.Get(suiteCtx, keyOf(sample), stored)).To(Succeed())
		Expect(stored.Spec.ReplaceKeyPairs).To(Equal([]string{"FinanceJoshuaV26"}))
		Expect(stored.Spec.Mode).To(Equal(ecsv1alpha1.ModeApply))
		Expect(stored.Spec.Reboot.Timeout).NotTo(BeNil(), "the detachment's defaults apply")
	})

	DescribeTable("replaceKeyPairs",
		func(replace []string, accepted bool) {
			err := k8sClient.Create(suiteCtx, valid(replace...))
			if accepted {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(err.Error()).To(ContainSubstring("replaceKeyPairs"))
		},
		Entry("absent: only keyless instances get the key", nil, true),
		Entry("named keys", []string{"K1", "K0"}, true),
		Entry("any key", []string{ecsv1alpha1.ReplaceAnyKeyPair}, true),
		Entry("\"*\" with a name", []string{"*", "K1"}, false),
		Entry("an empty name", []string{""}, false),
		Entry("a name twice", []string{"K1", "K1"}, false),
	)

	It("keeps keyPairName immutable, as a detachment does", func() {
		obj := valid()
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		obj.Spec.KeyPairName = "Another"
		err := k8sClient.Update(suiteCtx, obj)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("immutable"))
	})
})
