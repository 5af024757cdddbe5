package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// The API server, not the controller, turns bad input away: these run against the real
// kube-apiserver with the generated CRD, so a missing marker fails here.
var _ = Describe("KeyPairDetachment admission", func() {
	var namespace string

	BeforeEach(func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
		Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
		namespace = ns.Name
	})

	valid := func() *ecsv1alpha1.KeyPairDetachment {
		return &ecsv1alpha1.KeyPairDetachment{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "kpd-", Namespace: namespace},
			Spec: ecsv1alpha1.KeyPairDetachmentSpec{
				RegionID:    "cn-hangzhou",
				KeyPairName: "FinanceJoshuaV26",
				InstanceIDs: []string{"i-bp67acfmxazb4ph1"},
			},
		}
	}

	It("accepts the sample and applies the defaults", func() {
		raw, err := os.ReadFile(filepath.Join("..", "config", "samples", "ecs_v1alpha1_keypairdetachment.yaml"))
		Expect(err).NotTo(HaveOccurred())
		sample := &ecsv1alpha1.KeyPairDetachment{}
		Expect(yaml.Unmarshal(raw, sample)).To(Succeed())
		sample.Namespace = namespace
		Expect(k8sClient.Create(suiteCtx, sample)).To(Succeed())

		stored := &ecsv1alpha1.KeyPairDetachment{}
		Expect(k8sClient.Get(suiteCtx, keyOf(sample), stored)).To(Succeed())
		Expect(stored.Spec.Reboot.Enabled).To(BeFalse())
		Expect(stored.Spec.Reboot.ForceStop).To(BeFalse())
		Expect(stored.Spec.Reboot.MaxConcurrent).To(Equal(int32(10)))
		Expect(stored.Spec.Reboot.MaxFailures).To(Equal(int32(0)))
		Expect(stored.Spec.Reboot.Timeout).NotTo(BeNil())
		Expect(stored.Spec.Reboot.Timeout.Duration).To(Equal(15 * time.Minute))
		Expect(stored.Spec.Suspend).To(BeFalse())
	})

	manyIDs := func(n int) []any {
		ids := make([]any, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("i-gen%04d", i)
		}
		return ids
	}

	// Mutations work on the unstructured form so that each case sends exactly what a user's
	// manifest would, zero values included.
	DescribeTable("rejects bad input on create, naming the field",
		func(mutate func(spec map[string]any), field string) {
			obj := valid()
			raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			Expect(err).NotTo(HaveOccurred())
			u := &unstructured.Unstructured{Object: raw}
			u.SetGroupVersionKind(ecsv1alpha1.GroupVersion.WithKind("KeyPairDetachment"))
			mutate(raw["spec"].(map[string]any))
			err = k8sClient.Create(suiteCtx, u)
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
		},
		Entry("empty instanceIds", func(s map[string]any) { s["instanceIds"] = []any{} }, "spec.instanceIds"),
		Entry("a duplicate ID", func(s map[string]any) { s["instanceIds"] = []any{"i-abc", "i-def", "i-abc"} },
			"spec.instanceIds[2]"),
		Entry("an ID not matching ^i-", func(s map[string]any) { s["instanceIds"] = []any{"i-abc", "d-xxxxxxxxx"} },
			"spec.instanceIds[1]"),
		Entry("1,001 IDs", func(s map[string]any) { s["instanceIds"] = manyIDs(1001) }, "spec.instanceIds"),
		Entry("keyPairName of 1 character", func(s map[string]any) { s["keyPairName"] = "k" }, "spec.keyPairName"),
		Entry("keyPairName of 129 characters", func(s map[string]any) { s["keyPairName"] = strings.Repeat("k", 129) },
			"spec.keyPairName"),
		Entry("no regionId", func(s map[string]any) { delete(s, "regionId") }, "spec.regionId"),
		Entry("regionId CN_HANGZHOU", func(s map[string]any) { s["regionId"] = "CN_HANGZHOU" }, "spec.regionId"),
		Entry("reboot.maxConcurrent 0", func(s map[string]any) { s["reboot"] = map[string]any{"maxConcurrent": int64(0)} },
			"spec.reboot.maxConcurrent"),
		Entry("reboot.maxConcurrent 101", func(s map[string]any) { s["reboot"] = map[string]any{"maxConcurrent": int64(101)} },
			"spec.reboot.maxConcurrent"),
	)

	DescribeTable("rejects an update of an immutable field, naming the field",
		func(mutate func(*ecsv1alpha1.KeyPairDetachment), field string) {
			obj := valid()
			Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
			mutate(obj)
			err := k8sClient.Update(suiteCtx, obj)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring("immutable"))
		},
		Entry("keyPairName", func(o *ecsv1alpha1.KeyPairDetachment) { o.Spec.KeyPairName = "AnotherKey" },
			"spec.keyPairName"),
		Entry("regionId", func(o *ecsv1alpha1.KeyPairDetachment) { o.Spec.RegionID = "cn-shanghai" }, "spec.regionId"),
	)
})
