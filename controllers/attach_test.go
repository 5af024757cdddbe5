package controllers

import (
	"fmt"
	"math"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// The stories of issue 13: attach and rotate, with the machinery detachments use, against the
// emulator's counters.
const (
	newKey   = "FinanceJoshuaV27" // K2, the key a rotation puts on
	otherKey = "PlatformBreakGlass"
)

// rotationFleet is fleetOf with K2 and the other key existing too.
func rotationFleet(instances []ecsemu.InstanceSpec) ecsemu.Fleet {
	f := fleetOf(instances)
	f.KeyPairs = append(f.KeyPairs, ecsemu.KeyPair{RegionID: testRegion, KeyPairName: newKey},
		ecsemu.KeyPair{RegionID: testRegion, KeyPairName: otherKey})
	return f
}

// newAttachment puts key on ids, replacing the key pairs replace names.
func newAttachment(namespace, name, key string, ids []string, replace ...string) *ecsv1alpha1.KeyPairAttachment {
	return &ecsv1alpha1.KeyPairAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: ecsv1alpha1.KeyPairAttachmentSpec{
			KeyPairDetachmentSpec: ecsv1alpha1.KeyPairDetachmentSpec{RegionID: testRegion, KeyPairName: key, InstanceIDs: ids},
			ReplaceKeyPairs:       replace,
		},
	}
}

func attachWithReboot(obj *ecsv1alpha1.KeyPairAttachment, maxConcurrent int32, timeout time.Duration) {
	obj.Spec.Reboot = ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: maxConcurrent, Timeout: &metav1.Duration{Duration: timeout}}
}

// keysOf is the key pair each instance carries in the emulator now.
func keysOf(emu *ecsemu.Emulator) map[string]string {
	out := map[string]string{}
	for _, in := range emu.Instances() {
		out[in.InstanceID] = in.KeyPairName
	}
	return out
}

var _ = Describe("Rotating a key pair", func() {
	It("rotates 180 instances from K1 to K2 with one reboot each; the rest say why not", func() {
		onK1 := linux("i-rot", 180, "Running", testKey)
		onK3 := linux("i-other", 10, "Running", otherKey)
		keyless := linux("i-nokey", 5, "Running", "")
		windows := linux("i-win", 5, "Running", testKey)
		for n := range windows {
			windows[n].OSType = "windows"
		}
		fleet := slices.Concat(onK1, onK3, keyless, windows)
		emu, url := startEmulator(rotationFleet(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newAttachment(namespace, "rotate", newKey, idsOf(fleet), testKey)
		attachWithReboot(obj, 10, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		final := eventuallyView(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", 3*time.Minute)
		Expect(statusCondition(final.Status, ecsv1alpha1.ConditionStalled)).To(Equal("True/PartiallyFailed"))
		Expect(countReasonsIn(final.Status, ecsv1alpha1.ConditionAttached)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonAttached: 185, ecsv1alpha1.ReasonKeyPairMismatch: 10, ecsv1alpha1.ReasonWindowsInstance: 5}))
		Expect(countReasonsIn(final.Status, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{
			ecsv1alpha1.ReasonRebooted: 185, ecsv1alpha1.ReasonNotRequired: 15}))
		kpa := final.Object.(*ecsv1alpha1.KeyPairAttachment)
		Expect(kpa.Status.Summary).To(Equal(ecsv1alpha1.AttachmentSummary{Total: 200, Attached: 185, Rebooted: 185, Failed: 15}))
		expectGitOpsHealth(kpa, "Degraded", "Failed")

		keys, stats := keysOf(emu), emu.Stats()
		rotated := idsOf(slices.Concat(onK1, keyless))
		for _, id := range rotated {
			Expect(keys[id]).To(Equal(newKey), id)
			Expect(stats.Reboots[id]).To(Equal(1), "reboots of %s", id)
		}
		for _, id := range idsOf(onK3) {
			Expect(keys[id]).To(Equal(otherKey), "%s keeps the key replaceKeyPairs does not list", id)
		}
		for _, id := range idsOf(slices.Concat(onK3, windows)) {
			Expect(stats.Reboots[id]).To(BeZero(), id)
		}
		Expect(stats.Calls["AttachKeyPair"]).To(Equal(int(math.Ceil(185.0/50))), "one call per 50 instances")
		Expect(stats.Calls["DetachKeyPair"]).To(BeZero(), "a rotation never leaves an instance without a key")
		Expect(stats.MaxConcurrentReboots).To(BeNumerically("<=", 10))
	})

	It("survives manager restarts mid-rotation: still one reboot per instance", func() {
		fleet := linux("i-rr", 60, "Running", testKey)
		emu, url := startEmulator(rotationFleet(fleet))
		namespace := newNamespace()
		stop := startManager(managerOptions{endpoint: url, namespace: namespace})
		obj := newAttachment(namespace, "rotate", newKey, idsOf(fleet), ecsv1alpha1.ReplaceAnyKeyPair)
		attachWithReboot(obj, 5, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())

		for _, share := range []int{20, 55} {
			Eventually(func() int { return len(emu.Stats().Reboots) }, 2*time.Minute, 50*time.Millisecond).
				Should(BeNumerically(">=", len(fleet)*share/100))
			stop()
			stop = startManager(managerOptions{endpoint: url, namespace: namespace})
		}

		final := eventuallyView(obj, ecsv1alpha1.ConditionReady, "True/Ready", 3*time.Minute)
		expectGitOpsHealth(final.Object, "Healthy", "Current")
		Expect(countReasonsIn(final.Status, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonRebooted: 60}))
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().Reboots).To(HaveLen(60))
		for id, key := range keysOf(emu) {
			Expect(key).To(Equal(newKey), id)
		}
	})

	It("keeps a detachment of K1 Ready after a rotation to K2, and its detach takes effect with the rotation's reboot", func() {
		fleet := linux("i-after", 10, "Running", testKey)
		emu, url := startEmulator(rotationFleet(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		retire := newDetachment(namespace, idsOf(fleet))
		Expect(k8sClient.Create(suiteCtx, retire)).To(Succeed())
		eventuallyCondition(retire, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)

		rotate := newAttachment(namespace, "rotate", newKey, idsOf(fleet), testKey)
		attachWithReboot(rotate, 10, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, rotate)).To(Succeed())
		rotated := eventuallyView(rotate, ecsv1alpha1.ConditionReady, "True/Ready", 2*time.Minute)
		Expect(countReasonsIn(rotated.Status, ecsv1alpha1.ConditionAttached)).To(Equal(map[string]int{ecsv1alpha1.ReasonAttached: 10}),
			"K1 was already off: the instances had no key, and get K2")

		// Reboot on for the detachment: a new generation, so a full observation that finds K2.
		Eventually(func() error {
			latest := fetch(retire)
			withReboot(latest, 10, 0, 5*time.Minute)
			return k8sClient.Update(suiteCtx, latest)
		}, 10*time.Second).Should(Succeed())
		final := eventuallyCondition(retire, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
		Expect(countReasons(final, ecsv1alpha1.ConditionDetached)).To(Equal(map[string]int{ecsv1alpha1.ReasonDetached: 10}),
			"K1 is still off: another key on the instances is not a mismatch any more")
		Expect(countReasons(final, ecsv1alpha1.ConditionRebooted)).To(Equal(map[string]int{ecsv1alpha1.ReasonRebootedByOther: 10}))
		for _, s := range final.Status.Instances {
			Expect(s.Reboot).NotTo(BeNil())
			Expect(s.Reboot.By).To(Equal("KeyPairAttachment " + namespace + "/rotate"))
		}
		expectRebootedOnce(emu, idsOf(fleet))
		Expect(emu.Stats().Calls["DetachKeyPair"]).To(Equal(1))
	})
})

var _ = Describe("A detachment and an attachment of the same key pair", func() {
	It("never fight: each instance ends as the one that holds it asked, and both objects name each other", func() {
		withKey := linux("i-both", 10, "Running", testKey)
		without := linux("i-none", 10, "Running", "")
		fleet := slices.Concat(withKey, without)
		emu, url := startEmulator(rotationFleet(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})
		off := newDetachment(namespace, idsOf(fleet))
		withReboot(off, 10, 0, 5*time.Minute)
		on := newAttachment(namespace, "keep-key", testKey, idsOf(fleet))
		attachWithReboot(on, 10, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, off)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, on)).To(Succeed())
		offName, onName := "KeyPairDetachment "+namespace+"/"+off.Name, "KeyPairAttachment "+namespace+"/"+on.Name

		Eventually(func(g Gomega) {
			d, a := fetchView(off), fetchView(on)
			keys := keysOf(emu)
			for _, id := range idsOf(fleet) {
				dc, ac := conditionOf(d, id), conditionOf(a, id)
				g.Expect(dc).NotTo(BeNil())
				g.Expect(ac).NotTo(BeNil())
				switch {
				case ac.Reason == ecsv1alpha1.ReasonClaimedByOther:
					g.Expect(dc.Status).To(Equal(metav1.ConditionTrue), id)
					g.Expect(ac.Message).To(ContainSubstring(offName))
					g.Expect(dc.Message).To(ContainSubstring(onName), "%s: the holder names the object that left it alone", id)
					g.Expect(keys[id]).To(BeEmpty(), "%s is as the detachment, which holds it, asked", id)
				case dc.Reason == ecsv1alpha1.ReasonClaimedByOther:
					g.Expect(ac.Status).To(Equal(metav1.ConditionTrue), id)
					g.Expect(dc.Message).To(ContainSubstring(onName))
					g.Expect(ac.Message).To(ContainSubstring(offName), "%s: the holder names the object that left it alone", id)
					g.Expect(keys[id]).To(Equal(testKey), "%s is as the attachment, which holds it, asked", id)
				default:
					g.Expect(fmt.Sprintf("%s/%s", dc.Reason, ac.Reason)).To(BeEmpty(), "%s: one of the two must leave it alone", id)
				}
			}
		}, 2*time.Minute, 200*time.Millisecond).Should(Succeed())

		for _, id := range idsOf(fleet) {
			Expect(emu.Stats().Reboots[id]).To(BeNumerically("<=", 1), "reboots of %s", id)
		}
		Expect(emu.Stats().Calls["AttachKeyPair"]+emu.Stats().Calls["DetachKeyPair"]).To(BeNumerically("<=", 2),
			"each object acts at most once, on the instances it holds")
		for _, obj := range []client.Object{off, on} {
			v := fetchView(obj)
			if countReasonsIn(v.Status, v.kind.condition)[ecsv1alpha1.ReasonClaimedByOther] == 0 {
				eventuallyView(obj, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)
				continue
			}
			final := eventuallyView(obj, ecsv1alpha1.ConditionReady, "False/PartiallyFailed", time.Minute)
			Expect(statusCondition(final.Status, ecsv1alpha1.ConditionStalled)).To(Equal("True/PartiallyFailed"),
				"the object that left instances alone waits for a person")
		}
	})
})

// conditionOf is the change condition (Detached or Attached) of instance id.
func conditionOf(v *subject, id string) *ecsv1alpha1.InstanceCondition {
	for n := range v.Status.Instances {
		if v.Status.Instances[n].InstanceID == id {
			return ecsv1alpha1.FindInstanceCondition(v.Status.Instances[n].Conditions, v.kind.condition)
		}
	}
	return nil
}

var _ = Describe("Two attachments of different key pairs on the same instances", func() {
	It("do not replace each other's key back and forth: the second is left out and says who holds them", func() {
		fleet := linux("i-dual", 10, "Running", testKey)
		emu, url := startEmulator(rotationFleet(fleet))
		namespace := newNamespace()
		startManager(managerOptions{endpoint: url, namespace: namespace})

		first := newAttachment(namespace, "to-k2", newKey, idsOf(fleet), "*")
		attachWithReboot(first, 10, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, first)).To(Succeed())
		eventuallyView(first, ecsv1alpha1.ConditionReady, "True/Ready", time.Minute)

		second := newAttachment(namespace, "to-break-glass", otherKey, idsOf(fleet), "*")
		attachWithReboot(second, 10, 5*time.Minute)
		Expect(k8sClient.Create(suiteCtx, second)).To(Succeed())
		stalled := eventuallyView(second, ecsv1alpha1.ConditionStalled, "True/PartiallyFailed", time.Minute)
		Expect(countReasonsIn(stalled.Status, ecsv1alpha1.ConditionAttached)).To(Equal(map[string]int{ecsv1alpha1.ReasonClaimedByOther: 10}))
		Expect(conditionOf(stalled, idsOf(fleet)[0]).Message).To(ContainSubstring(namespace + "/to-k2"))
		Expect(conditionOf(stalled, idsOf(fleet)[0]).Message).To(ContainSubstring(newKey + " on"))

		Eventually(func(g Gomega) {
			holder := fetchView(first)
			g.Expect(statusCondition(holder.Status, ecsv1alpha1.ConditionReady)).To(Equal("True/Ready"))
			g.Expect(conditionOf(holder, idsOf(fleet)[0]).Message).To(ContainSubstring(namespace + "/to-break-glass wants " + otherKey + " on"))
		}, time.Minute, 200*time.Millisecond).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(emu.Stats().Calls["AttachKeyPair"]).To(Equal(1), "only the first attachment ever attached")
			for _, id := range idsOf(fleet) {
				g.Expect(keysOf(emu)[id]).To(Equal(newKey), id)
				g.Expect(emu.Stats().Reboots[id]).To(Equal(1), id)
			}
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
	})
})
