package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// How GitOps tools read a KeyPairDetachment's health: Argo CD through the Lua check shipped in
// config/argocd/health.lua, Flux (and anything else built on kstatus) through
// sigs.k8s.io/cli-utils/pkg/kstatus. The helpers below run both on an object exactly as the tools
// would see it (unstructured, from its JSON form), so the controller stories can assert the health
// of statuses the controller really produced; TestGitOpsHealth covers every mapping row with
// hand-built statuses.

// argoHealthScript is the Argo CD health check, relative to this package's directory.
var argoHealthScript = filepath.Join("..", "config", "argocd", "health.lua")

// Argo CD's health statuses that the script may return.
var argoStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended"}

// expectGitOpsHealth asserts that Argo CD (with config/argocd/health.lua) reports obj as argo
// (Healthy, Progressing, Degraded or Suspended) and that kstatus computes kstatus (Current,
// InProgress or Failed). For Degraded it also asserts that Argo CD's message carries the Ready
// condition's message, so the UI says why. It uses Gomega's global fail handler (Ginkgo specs).
func expectGitOpsHealth(obj client.Object, argo string, kstatus string) {
	GinkgoHelper()
	assertGitOpsHealth(Default, obj, argo, kstatus)
}

// assertGitOpsHealth is expectGitOpsHealth for any Gomega (NewWithT in plain tests).
func assertGitOpsHealth(g Gomega, obj client.Object, argo string, kstatus string) {
	g.Expect(argoStatuses).To(ContainElement(argo), "not an Argo CD health status this script returns")
	g.Expect([]string{string(status.CurrentStatus), string(status.InProgressStatus), string(status.FailedStatus)}).
		To(ContainElement(kstatus), "not a kstatus status")

	u, err := toUnstructured(obj)
	g.Expect(err).NotTo(HaveOccurred())

	gotArgo, argoMessage, err := argoHealth(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gotArgo).To(Equal(argo), "Argo CD health of %s (message %q)", describeStatus(obj), argoMessage)
	g.Expect(argoMessage).NotTo(BeEmpty(), "Argo CD shows a message for every health")
	if ready := meta.FindStatusCondition(kindOf(obj).view(obj, nil).Status.Conditions, ecsv1alpha1.ConditionReady); argo == "Degraded" && ready != nil {
		g.Expect(argoMessage).To(ContainSubstring(ready.Message), "Degraded says why, with Ready's message")
	}

	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(res.Status)).To(Equal(kstatus), "kstatus of %s (message %q)", describeStatus(obj), res.Message)
}

// toUnstructured is the object, of either kind, as a GitOps tool reads it from the API server:
// its JSON form, with apiVersion and kind (typed objects read through a client often have no
// TypeMeta).
func toUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetAPIVersion(ecsv1alpha1.GroupVersion.String())
	u.SetKind(kindOf(obj).name)
	return u, nil
}

// argoHealth runs the Lua health check the way Argo CD does: the object as the global obj, the
// script's returned table read for status and message.
func argoHealth(u *unstructured.Unstructured) (health, message string, err error) {
	script, err := os.ReadFile(argoHealthScript)
	if err != nil {
		return "", "", err
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, u.Object))
	if err := L.DoString(string(script)); err != nil {
		return "", "", fmt.Errorf("health.lua: %w", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned %s, not a table", L.Get(-1).Type())
	}
	st, ok := hs.RawGetString("status").(lua.LString)
	if !ok {
		return "", "", fmt.Errorf("health.lua returned no status string")
	}
	if m, ok := hs.RawGetString("message").(lua.LString); ok {
		message = string(m)
	}
	return string(st), message, nil
}

// toLua converts a JSON-like value to Lua as Argo CD does: objects and arrays become tables
// (arrays 1-based), numbers LNumber, null nil.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(L, item))
		}
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, item := range v {
			t.RawSetInt(i+1, toLua(L, item))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	default:
		panic(fmt.Sprintf("toLua: unexpected %T", v))
	}
}

func describeStatus(obj client.Object) string {
	st := kindOf(obj).view(obj, nil).Status
	s := fmt.Sprintf("%s, generation %d, observedGeneration %d", kindOf(obj).name, obj.GetGeneration(), st.ObservedGeneration)
	for _, c := range st.Conditions {
		s += fmt.Sprintf(", %s=%s/%s", c.Type, c.Status, c.Reason)
	}
	return s
}

// gitOpsHealthCase is one row of the mapping, on a hand-built status.
type gitOpsHealthCase struct {
	name    string
	obj     *ecsv1alpha1.KeyPairDetachment
	argo    string
	kstatus string
}

// handBuilt is an object at generation 2 whose status describes observed, with the given
// object conditions (type, status, reason, message).
func handBuilt(observed int64, conds ...metav1.Condition) *ecsv1alpha1.KeyPairDetachment {
	obj := &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: "kpd", Namespace: "ns", Generation: 2},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{
			RegionID: "cn-hangzhou", KeyPairName: "FinanceJoshuaV26", InstanceIDs: []string{"i-demo001"},
		},
	}
	obj.Status.ObservedGeneration = observed
	for _, c := range conds {
		c.ObservedGeneration = observed
		c.LastTransitionTime = metav1.Unix(1_800_000_000, 0)
		meta.SetStatusCondition(&obj.Status.Conditions, c)
	}
	return obj
}

// asAttachment is obj's spec and object status as a KeyPairAttachment's.
func asAttachment(obj *ecsv1alpha1.KeyPairDetachment) *ecsv1alpha1.KeyPairAttachment {
	return &ecsv1alpha1.KeyPairAttachment{ObjectMeta: obj.ObjectMeta,
		Spec: ecsv1alpha1.KeyPairAttachmentSpec{KeyPairDetachmentSpec: obj.Spec},
		Status: ecsv1alpha1.KeyPairAttachmentStatus{ObservedGeneration: obj.Status.ObservedGeneration,
			Conditions: obj.Status.Conditions}}
}

func cond(t string, s metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: message}
}

func gitOpsHealthCases() []gitOpsHealthCase {
	const (
		T = metav1.ConditionTrue
		F = metav1.ConditionFalse
		U = metav1.ConditionUnknown
	)
	ready, stalled := ecsv1alpha1.ConditionReady, ecsv1alpha1.ConditionStalled
	notStalled := cond(stalled, F, ecsv1alpha1.ReasonProgressing, "Nothing needs a human")
	stalledBy := func(reason, message string) []metav1.Condition {
		return []metav1.Condition{cond(ready, F, reason, message), cond(stalled, T, reason, message)}
	}
	degraded := func(reason string) gitOpsHealthCase {
		return gitOpsHealthCase{
			name: "Stalled=True, Ready=False/" + reason,
			obj:  handBuilt(2, stalledBy(reason, "needs a human: "+reason)...),
			argo: "Degraded", kstatus: "Failed",
		}
	}
	return []gitOpsHealthCase{
		{
			// kstatus has no way to tell a custom resource without a status from one that needs
			// none: it reports Current. Argo CD, with the script, waits.
			name: "no status yet", obj: handBuilt(0), argo: "Progressing", kstatus: "Current",
		},
		{
			name: "a new generation not observed yet, though Ready was True",
			obj:  handBuilt(1, cond(ready, T, ecsv1alpha1.ReasonReady, "Nothing left to do"), notStalled),
			argo: "Progressing", kstatus: "InProgress",
		},
		{
			name: "a new generation not observed yet, though Stalled was True",
			obj:  handBuilt(1, stalledBy(ecsv1alpha1.ReasonPartiallyFailed, "1 instances failed")...),
			argo: "Progressing", kstatus: "InProgress",
		},
		{
			name: "Ready=True",
			obj:  handBuilt(2, cond(ready, T, ecsv1alpha1.ReasonReady, "Nothing left to do"), notStalled),
			argo: "Healthy", kstatus: "Current",
		},
		{
			name: "Ready=False/InProgress while detaching or rebooting",
			obj:  handBuilt(2, cond(ready, F, ecsv1alpha1.ReasonInProgress, "3 instances still in progress"), notStalled),
			argo: "Progressing", kstatus: "InProgress",
		},
		{
			name: "Ready=Unknown",
			obj:  handBuilt(2, cond(ready, U, ecsv1alpha1.ReasonInProgress, "starting")),
			argo: "Progressing", kstatus: "InProgress",
		},
		{
			name: "Ready=False/Suspended",
			obj:  handBuilt(2, cond(ready, F, ecsv1alpha1.ReasonSuspended, "spec.suspend is set"), notStalled),
			argo: "Suspended", kstatus: "InProgress",
		},
		{
			name: "Ready=False/Planned: spec.mode Plan waits for a human",
			obj:  handBuilt(2, cond(ready, F, ecsv1alpha1.ReasonPlanned, "Plan: detach 3 (1 call), ~2m"), notStalled),
			argo: "Suspended", kstatus: "InProgress",
		},
		{
			name: "Ready=False/WaitingForWindow: reboots wait for the window",
			obj:  handBuilt(2, cond(ready, F, ecsv1alpha1.ReasonWaitingForWindow, "2 reboots wait for the reboot window"), notStalled),
			argo: "Suspended", kstatus: "InProgress",
		},
		degraded(ecsv1alpha1.ReasonPartiallyFailed),
		degraded(ecsv1alpha1.ReasonPreflightFailed),
		degraded(ecsv1alpha1.ReasonCredentialsError),
		degraded(ecsv1alpha1.ReasonKeyPairNotFound),
		degraded(ecsv1alpha1.ReasonRolloutHalted),
	}
}

// TestGitOpsHealth covers every row of the mapping in config/argocd/README.md without a control
// plane: go test ./controllers/ -run TestGitOpsHealth.
func TestGitOpsHealth(t *testing.T) {
	for _, c := range gitOpsHealthCases() {
		t.Run(c.name, func(t *testing.T) {
			assertGitOpsHealth(NewWithT(t), c.obj, c.argo, c.kstatus)
		})
		// The same script and kstatus serve the attachment: it has the same conditions.
		t.Run("KeyPairAttachment/"+c.name, func(t *testing.T) {
			assertGitOpsHealth(NewWithT(t), asAttachment(c.obj), c.argo, c.kstatus)
		})
	}
}

// TestGitOpsHealthMessages checks what Argo CD shows, beyond the health itself.
func TestGitOpsHealthMessages(t *testing.T) {
	g := NewWithT(t)
	obj := handBuilt(2,
		cond(ecsv1alpha1.ConditionReady, metav1.ConditionFalse, ecsv1alpha1.ReasonCredentialsError,
			`Secret platform/ecs-credentials has no key "accessKeySecret"`),
		cond(ecsv1alpha1.ConditionStalled, metav1.ConditionTrue, ecsv1alpha1.ReasonCredentialsError, "mirror"))
	u, err := toUnstructured(obj)
	g.Expect(err).NotTo(HaveOccurred())
	health, message, err := argoHealth(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(health).To(Equal("Degraded"))
	g.Expect(message).To(Equal(`CredentialsError: Secret platform/ecs-credentials has no key "accessKeySecret"`))

	stale := handBuilt(1, cond(ecsv1alpha1.ConditionReady, metav1.ConditionTrue, ecsv1alpha1.ReasonReady, "Nothing left to do"))
	u, err = toUnstructured(stale)
	g.Expect(err).NotTo(HaveOccurred())
	health, message, err = argoHealth(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(health).To(Equal("Progressing"))
	g.Expect(message).To(Equal("Waiting for the operator to observe generation 2"))

	// A status with nothing in it (not even the summary): the script must not fail on absent fields.
	bare := handBuilt(0)
	u, err = toUnstructured(bare)
	g.Expect(err).NotTo(HaveOccurred())
	unstructured.RemoveNestedField(u.Object, "status")
	health, message, err = argoHealth(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(health).To(Equal("Progressing"))
	g.Expect(message).To(Equal("Waiting for the operator to report a status"))
}

// The same rows through expectGitOpsHealth, the helper the controller stories call, so the
// helper itself is exercised under Ginkgo's fail handler.
var _ = Describe("GitOps health of hand-built statuses", func() {
	for _, c := range gitOpsHealthCases() {
		It("reads "+c.name+" as "+c.argo+" (Argo CD) and "+c.kstatus+" (kstatus)", func() {
			expectGitOpsHealth(c.obj, c.argo, c.kstatus)
		})
	}
})
