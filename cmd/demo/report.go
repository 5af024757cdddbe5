package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// reasonGroup is the instances of one object that share a condition's status and reason.
type reasonGroup struct {
	condition string
	status    metav1.ConditionStatus
	reason    string
	ids       []string
}

// breakdown groups an object's instances by the reasons of their Detached and Rebooted
// conditions: True first, then Unknown, then False; larger groups first.
func breakdown(obj *ecsv1alpha1.KeyPairDetachment) []reasonGroup {
	byKey := map[string]*reasonGroup{}
	for _, in := range obj.Status.Instances {
		for _, t := range []string{ecsv1alpha1.ConditionDetached, ecsv1alpha1.ConditionRebooted} {
			c := ecsv1alpha1.FindInstanceCondition(in.Conditions, t)
			if c == nil {
				continue
			}
			key := t + "/" + string(c.Status) + "/" + c.Reason
			g := byKey[key]
			if g == nil {
				g = &reasonGroup{condition: t, status: c.Status, reason: c.Reason}
				byKey[key] = g
			}
			g.ids = append(g.ids, in.InstanceID)
		}
	}
	order := map[metav1.ConditionStatus]int{metav1.ConditionTrue: 0, metav1.ConditionUnknown: 1, metav1.ConditionFalse: 2}
	groups := make([]reasonGroup, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, *g)
	}
	slices.SortFunc(groups, func(a, b reasonGroup) int {
		return cmp.Or(cmp.Compare(a.condition, b.condition), cmp.Compare(order[a.status], order[b.status]),
			cmp.Compare(len(b.ids), len(a.ids)), cmp.Compare(a.reason, b.reason))
	})
	return groups
}

// printOutcome tells, per object, how it ended and why, instance reason by instance reason.
func printOutcome(out io.Writer, objs []*ecsv1alpha1.KeyPairDetachment) {
	for _, obj := range objs {
		r := rowOf(obj)
		printf(out, "\n%s/%s: Ready=%s\n", obj.Namespace, obj.Name, r.readyText())
		if r.ready != nil {
			printf(out, "  %s\n", r.ready.Message)
		}
		for _, g := range breakdown(obj) {
			printf(out, "  %-16s %-17s %4d  %-58s %s\n", g.condition+"="+string(g.status), g.reason, len(g.ids),
				ecsv1alpha1.InstanceReasonInfo(g.condition, g.reason).Meaning, examples(g.ids, 2))
		}
	}
}

func examples(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:n], ", ") + ", …"
}

// writeFixedManifest writes obj with only the instances that did not fail to detach: what a
// human would apply after looking at the failures. It returns the number of IDs it dropped.
func writeFixedManifest(path string, obj *ecsv1alpha1.KeyPairDetachment) (int, error) {
	failed := map[string]bool{}
	for _, in := range obj.Status.Instances {
		if c := ecsv1alpha1.FindInstanceCondition(in.Conditions, ecsv1alpha1.ConditionDetached); c != nil && c.Status == metav1.ConditionFalse {
			failed[in.InstanceID] = true
		}
	}
	spec := *obj.Spec.DeepCopy()
	spec.InstanceIDs = slices.DeleteFunc(spec.InstanceIDs, func(id string) bool { return failed[id] })
	data, err := yaml.Marshal(map[string]any{
		"apiVersion": ecsv1alpha1.GroupVersion.String(), "kind": "KeyPairDetachment",
		"metadata": map[string]string{"name": obj.Name, "namespace": obj.Namespace},
		"spec":     spec,
	})
	if err != nil {
		return 0, fmt.Errorf("render the fixed %s: %w", obj.Name, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return len(failed), nil
}
