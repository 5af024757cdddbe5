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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/window"
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
		sample := &ecsv1alpha1.KeyPairDetachment{}
		createSample("ecs_v1alpha1_keypairdetachment.yaml", namespace, sample)

		stored := &ecsv1alpha1.KeyPairDetachment{}
		Expect(k8sClient.Get(suiteCtx, keyOf(sample), stored)).To(Succeed())
		Expect(stored.Spec.Reboot.Enabled).To(BeFalse())
		Expect(stored.Spec.Reboot.ForceStop).To(BeFalse())
		Expect(stored.Spec.Reboot.MaxConcurrent).To(Equal(int32(10)))
		Expect(stored.Spec.Reboot.MaxFailures).To(Equal(int32(0)))
		Expect(stored.Spec.Reboot.Timeout).NotTo(BeNil())
		Expect(stored.Spec.Reboot.Timeout.Duration).To(Equal(15 * time.Minute))
		Expect(stored.Spec.Suspend).To(BeFalse())
		Expect(stored.Spec.Mode).To(Equal(ecsv1alpha1.ModeApply), "Apply unless a plan is asked for")
		Expect(stored.Spec.RequireAlternateAccess).To(BeFalse())
	})

	It("accepts the plan sample, with its window readable by the manager", func() {
		sample := &ecsv1alpha1.KeyPairDetachment{}
		createSample("ecs_v1alpha1_keypairdetachment_plan.yaml", namespace, sample)
		stored := &ecsv1alpha1.KeyPairDetachment{}
		Expect(k8sClient.Get(suiteCtx, keyOf(sample), stored)).To(Succeed())
		Expect(stored.Spec.Mode).To(Equal(ecsv1alpha1.ModePlan))
		Expect(stored.Spec.RequireAlternateAccess).To(BeTrue())
		w, err := window.Parse(stored.Spec.Reboot.Window)
		Expect(err).NotTo(HaveOccurred())
		Expect(w).NotTo(BeNil())
	})

	It("refuses a mode it does not know", func() {
		obj := valid()
		obj.Spec.Mode = "DryRun"
		err := k8sClient.Create(suiteCtx, obj)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.mode"))
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

	// admit sends valid() with spec.<path> set to value, exactly as a manifest would, and holds
	// the API server to the manager's contract: a value is either refused (422, naming field) or
	// stored as something the typed client decodes. The typed client decodes the way the
	// manager's cache does, and one object the cache cannot decode stops it listing every
	// object (a stored `timeout: 1d` did).
	admit := func(path []string, value any, field string, want admissionVerdict) {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(valid())
		Expect(err).NotTo(HaveOccurred())
		Expect(unstructured.SetNestedField(raw, value, append([]string{"spec"}, path...)...)).To(Succeed())
		u := &unstructured.Unstructured{Object: raw}
		u.SetGroupVersionKind(ecsv1alpha1.GroupVersion.WithKind("KeyPairDetachment"))
		err = k8sClient.Create(suiteCtx, u)
		if want.check == nil {
			Expect(err).To(HaveOccurred(), "the API server stored %s=%#v", field, value)
			GinkgoWriter.Printf("%s=%#v refused: %v\n", field, value, err)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
			return
		}
		Expect(err).NotTo(HaveOccurred(), "the API server refused %s=%#v", field, value)
		stored := &ecsv1alpha1.KeyPairDetachment{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: u.GetName()}, stored)).
			To(Succeed(), "the manager cannot decode %s=%#v", field, value)
		Expect(k8sClient.List(suiteCtx, &ecsv1alpha1.KeyPairDetachmentList{}, client.InNamespace(namespace))).
			To(Succeed(), "the manager cannot list once %s=%#v is stored", field, value)
		GinkgoWriter.Printf("%s=%#v accepted\n", field, value)
		want.check(stored)
	}

	DescribeTable("every value people write for spec.reboot.timeout is refused naming the field, or decoded by the manager",
		func(value any, want admissionVerdict) {
			admit([]string{"reboot", "timeout"}, value, "spec.reboot.timeout", want)
		},
		Entry("1d: Go has no days", "1d", admissionRefused),
		Entry("12 hours", "12 hours", admissionRefused),
		Entry("-1m", "-1m", admissionRefused),
		Entry("0s", "0s", admissionRefused),
		Entry("9999999h: past Go's ~2562047h", "9999999h", admissionRefused),
		Entry("999999h999999h99999h: 20 characters past Go's ~2562047h", "999999h999999h99999h", admissionRefused),
		Entry("1h30m", "1h30m", timeoutAdmittedAs(90*time.Minute)),
		Entry("90s", "90s", timeoutAdmittedAs(90*time.Second)),
		Entry("15m", "15m", timeoutAdmittedAs(15*time.Minute)),
		Entry("24h", "24h", timeoutAdmittedAs(24*time.Hour)),
		Entry("25h", "25h", admissionRefused),
		Entry("59s", "59s", admissionRefused),
		Entry("1.5h", "1.5h", timeoutAdmittedAs(90*time.Minute)),
		Entry(`""`, "", admissionRefused),
		Entry("5: no unit", "5", admissionRefused),
		Entry("1m0s", "1m0s", timeoutAdmittedAs(time.Minute)),
		Entry("PT15M: ISO 8601", "PT15M", admissionRefused),
		Entry("15 as a number", int64(15), admissionRefused),
	)

	DescribeTable("every value people write for the other fields Go decodes is refused naming the field, or decoded by the manager",
		admit,
		Entry("reboot.maxFailures -1", []string{"reboot", "maxFailures"}, int64(-1), "spec.reboot.maxFailures",
			admissionRefused),
		Entry("reboot.maxFailures 1001", []string{"reboot", "maxFailures"}, int64(1001), "spec.reboot.maxFailures",
			admissionRefused),
		Entry("reboot.maxFailures 3000000000: past int32", []string{"reboot", "maxFailures"}, int64(3000000000),
			"spec.reboot.maxFailures", admissionRefused),
		Entry("reboot.maxFailures 10", []string{"reboot", "maxFailures"}, int64(10), "spec.reboot.maxFailures",
			admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) { Expect(o.Spec.Reboot.MaxFailures).To(Equal(int32(10))) })),
		Entry("reboot.maxFailures 1000", []string{"reboot", "maxFailures"}, int64(1000), "spec.reboot.maxFailures",
			admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) { Expect(o.Spec.Reboot.MaxFailures).To(Equal(int32(1000))) })),
		Entry("reboot.maxConcurrent 3000000000: past int32", []string{"reboot", "maxConcurrent"}, int64(3000000000),
			"spec.reboot.maxConcurrent", admissionRefused),
		Entry("reboot.maxConcurrent 1.5", []string{"reboot", "maxConcurrent"}, 1.5, "spec.reboot.maxConcurrent",
			admissionRefused),
		Entry(`reboot.maxConcurrent "5"`, []string{"reboot", "maxConcurrent"}, "5", "spec.reboot.maxConcurrent",
			admissionRefused),
		Entry("credentialsSecretRef.name My_Secret", []string{"credentialsSecretRef", "name"}, "My_Secret",
			"spec.credentialsSecretRef.name", admissionRefused),
		Entry("credentialsSecretRef.name ok-name", []string{"credentialsSecretRef", "name"}, "ok-name",
			"spec.credentialsSecretRef.name", admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) {
				Expect(o.Spec.CredentialsSecretRef).To(Equal(&ecsv1alpha1.SecretReference{Name: "ok-name"}))
			})),
		Entry("credentialsSecretRef.name a.b", []string{"credentialsSecretRef", "name"}, "a.b",
			"spec.credentialsSecretRef.name", admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) {
				Expect(o.Spec.CredentialsSecretRef).To(Equal(&ecsv1alpha1.SecretReference{Name: "a.b"}))
			})),
		Entry(`suspend "yes"`, []string{"suspend"}, "yes", "spec.suspend", admissionRefused),
		Entry(`suspend "true"`, []string{"suspend"}, "true", "spec.suspend", admissionRefused),
		Entry(`reboot.enabled "yes"`, []string{"reboot", "enabled"}, "yes", "spec.reboot.enabled", admissionRefused),
		Entry("an instance ID of 70 characters", []string{"instanceIds"}, []any{"i-" + strings.Repeat("a", 68)},
			"spec.instanceIds[0]", admissionRefused),
		Entry("an instance ID of 64 characters", []string{"instanceIds"}, []any{"i-" + strings.Repeat("a", 62)},
			"spec.instanceIds", admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) {
				Expect(o.Spec.InstanceIDs).To(Equal([]string{"i-" + strings.Repeat("a", 62)}))
			})),
	)

	// The manager parses the window with internal/window.Parse; these hold the API server to
	// refusing what Parse would refuse, so a stored window always parses.
	windowOf := func(startTime, endTime string, days ...any) map[string]any {
		return map[string]any{"days": days, "startTime": startTime, "endTime": endTime}
	}
	inZone := func(w map[string]any, zone string) map[string]any {
		w["timeZone"] = zone
		return w
	}
	windowAdmittedAs := func(want ecsv1alpha1.RebootWindow) admissionVerdict {
		return admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) {
			Expect(o.Spec.Reboot.Window).To(Equal(&want))
			parsed, err := window.Parse(o.Spec.Reboot.Window)
			Expect(err).NotTo(HaveOccurred(), "the manager cannot parse the window the API server stored")
			Expect(parsed).NotTo(BeNil())
		})
	}
	DescribeTable("every reboot window people write is refused naming the field, or parsed by the manager",
		func(value map[string]any, field string, want admissionVerdict) {
			admit([]string{"reboot", "window"}, value, field, want)
		},
		Entry("Saturday and Sunday 02:00-05:00 in Asia/Shanghai",
			inZone(windowOf("02:00", "05:00", "Saturday", "Sunday"), "Asia/Shanghai"), "spec.reboot.window",
			windowAdmittedAs(ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{ecsv1alpha1.Saturday, ecsv1alpha1.Sunday},
				StartTime: "02:00", EndTime: "05:00", TimeZone: "Asia/Shanghai"})),
		Entry("22:00-02:00: crosses midnight", inZone(windowOf("22:00", "02:00", "Friday"), "America/New_York"),
			"spec.reboot.window", windowAdmittedAs(ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{ecsv1alpha1.Friday},
				StartTime: "22:00", EndTime: "02:00", TimeZone: "America/New_York"})),
		Entry("no timeZone: UTC", windowOf("02:00", "05:00", "Sunday"), "spec.reboot.window",
			windowAdmittedAs(ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{ecsv1alpha1.Sunday},
				StartTime: "02:00", EndTime: "05:00", TimeZone: "UTC"})),
		Entry("Etc/GMT-8: a zone name with a sign", inZone(windowOf("02:00", "05:00", "Sunday"), "Etc/GMT-8"),
			"spec.reboot.window", windowAdmittedAs(ecsv1alpha1.RebootWindow{Days: []ecsv1alpha1.Weekday{ecsv1alpha1.Sunday},
				StartTime: "02:00", EndTime: "05:00", TimeZone: "Etc/GMT-8"})),
		Entry("day Sat: full names only", windowOf("02:00", "05:00", "Sat"), "spec.reboot.window.days[0]", admissionRefused),
		Entry("day saturday: capitalised names only", windowOf("02:00", "05:00", "saturday"), "spec.reboot.window.days[0]",
			admissionRefused),
		Entry("no days", windowOf("02:00", "05:00"), "spec.reboot.window.days", admissionRefused),
		Entry("a day twice", windowOf("02:00", "05:00", "Sunday", "Sunday"), "spec.reboot.window.days[1]", admissionRefused),
		Entry("startTime 25:00", windowOf("25:00", "05:00", "Sunday"), "spec.reboot.window.startTime", admissionRefused),
		Entry("startTime 2:00: two digits", windowOf("2:00", "05:00", "Sunday"), "spec.reboot.window.startTime",
			admissionRefused),
		Entry("endTime 24:00", windowOf("22:00", "24:00", "Sunday"), "spec.reboot.window.endTime", admissionRefused),
		Entry("endTime 05:00:00: no seconds", windowOf("02:00", "05:00:00", "Sunday"), "spec.reboot.window.endTime",
			admissionRefused),
		Entry("startTime == endTime", windowOf("02:00", "02:00", "Sunday"), "spec.reboot.window", admissionRefused),
		Entry("no endTime", map[string]any{"days": []any{"Sunday"}, "startTime": "02:00"}, "spec.reboot.window.endTime",
			admissionRefused),
		Entry("timeZone Mars/Olympus", inZone(windowOf("02:00", "05:00", "Sunday"), "Mars/Olympus"),
			"spec.reboot.window.timeZone", admissionRefused),
		Entry("timeZone Local: the API server's own zone", inZone(windowOf("02:00", "05:00", "Sunday"), "Local"),
			"spec.reboot.window.timeZone", admissionRefused),
		Entry("timeZone +08:00: an offset, not a zone", inZone(windowOf("02:00", "05:00", "Sunday"), "+08:00"),
			"spec.reboot.window.timeZone", admissionRefused),
		Entry(`timeZone "": not UTC by omission`, inZone(windowOf("02:00", "05:00", "Sunday"), ""),
			"spec.reboot.window.timeZone", admissionRefused),
		Entry("timeZone ../etc/passwd", inZone(windowOf("02:00", "05:00", "Sunday"), "../etc/passwd"),
			"spec.reboot.window.timeZone", admissionRefused),
		Entry("timeZone of 65 characters", inZone(windowOf("02:00", "05:00", "Sunday"), "Asia/"+strings.Repeat("x", 60)),
			"spec.reboot.window.timeZone", admissionRefused),
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

// admissionVerdict is what an admission entry expects: refusal (no check), or acceptance and a
// check of the object as the manager decodes it.
type admissionVerdict struct {
	check func(*ecsv1alpha1.KeyPairDetachment)
}

var admissionRefused = admissionVerdict{}

func admittedAs(check func(*ecsv1alpha1.KeyPairDetachment)) admissionVerdict {
	return admissionVerdict{check: check}
}

// timeoutAdmittedAs expects the timeout stored and decoded as d, within the 1m..24h the
// reconciler relies on.
func timeoutAdmittedAs(d time.Duration) admissionVerdict {
	return admittedAs(func(o *ecsv1alpha1.KeyPairDetachment) {
		Expect(o.Spec.Reboot.Timeout).NotTo(BeNil())
		Expect(o.Spec.Reboot.Timeout.Duration).To(Equal(d))
		Expect(o.Spec.Reboot.Timeout.Duration).To(BeNumerically(">=", time.Minute))
		Expect(o.Spec.Reboot.Timeout.Duration).To(BeNumerically("<=", 24*time.Hour))
	})
}

// The issue: one user's `timeout: 1d` was stored, the manager could not list, every object
// stalled. Now the API server refuses it and the manager carries on with everyone else's.
var _ = Describe("A refused reboot timeout", func() {
	It("of 1d leaves the manager converging a KeyPairDetachment created afterwards in the same namespace", func() {
		fleet := linux("i-adm", 5, "Running", testKey)
		emu, url := startEmulator(fleetOf(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})

		holiday := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": ecsv1alpha1.GroupVersion.String(),
			"kind":       "KeyPairDetachment",
			"metadata":   map[string]any{"name": "holiday-timeout", "namespace": namespace},
			"spec": map[string]any{
				"regionId":    testRegion,
				"keyPairName": testKey,
				"instanceIds": []any{fleet[0].InstanceID, fleet[1].InstanceID},
				"reboot":      map[string]any{"enabled": true, "timeout": "1d"},
			},
		}}
		err := k8sClient.Create(suiteCtx, holiday)
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.reboot.timeout"))
		Expect(apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: "holiday-timeout"},
			&ecsv1alpha1.KeyPairDetachment{}))).To(BeTrue(), "nothing was stored")

		obj := newDetachment(namespace, idsOf(fleet))
		withReboot(obj, 5, 0, time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		final := eventuallyCondition(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(objectCondition(final, ecsv1alpha1.ConditionRebooted)).To(Equal("True/AllRebooted"))
		Expect(final.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: 5, Detached: 5, Rebooted: 5}))
		Expect(k8sClient.List(suiteCtx, &ecsv1alpha1.KeyPairDetachmentList{}, client.InNamespace(namespace))).To(Succeed())
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(1), "five instances fit one batch")
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().Reboots).To(HaveLen(5))
	})
})

// createSample creates, in namespace, the object of config/samples/file, read strictly: a
// field the API does not have fails here rather than being dropped by the API server.
func createSample(file, namespace string, into client.Object) {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join("..", "config", "samples", file))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(raw, into)).To(Succeed())
	into.SetNamespace(namespace)
	Expect(k8sClient.Create(suiteCtx, into)).To(Succeed())
}
