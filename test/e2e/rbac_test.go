//go:build e2e

package e2e

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// managerSubject is the manager's ServiceAccount; the client certificate's user name is that
// ServiceAccount's user name, so RBAC matches it exactly as in a cluster.
func managerSubject() rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: managerServiceAccount, Namespace: managerNamespace}
}

// applyGeneratedRBAC creates every role of config/rbac/role.yaml (controller-gen's output from
// the +kubebuilder:rbac markers) as the file says, and binds each to the manager only.
func applyGeneratedRBAC(ctx context.Context) {
	GinkgoHelper()
	objs, err := readObjects(filepath.Join(repoRoot, "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var clusterRoles []string
	for _, u := range objs {
		switch u.GetKind() {
		case "ClusterRole":
			clusterRoles = append(clusterRoles, applyClusterRole(ctx, u, managerSubject()))
		case "Role":
			applyRole(ctx, u, u.GetNamespace())
		default:
			Fail("config/rbac/role.yaml holds a " + u.GetKind() + ": teach test/e2e how to apply it")
		}
	}
	Expect(clusterRoles).To(ContainElement("manager-role"), "config/rbac/role.yaml has no ClusterRole manager-role")
}

// applyShippedClusterRole creates the one ClusterRole a hand-written file of config/rbac holds
// and binds it to subject, as the file's binding does in a cluster. It returns the role's name.
func applyShippedClusterRole(ctx context.Context, file string, subject rbacv1.Subject) string {
	GinkgoHelper()
	path := filepath.Join(repoRoot, "config", "rbac", file)
	objs, err := readObjects(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(objs).To(HaveLen(1), "%s must hold exactly one object", path)
	Expect(objs[0].GetKind()).To(Equal("ClusterRole"), path)
	return applyClusterRole(ctx, objs[0], subject)
}

// applyClusterRole creates a ClusterRole as the object says and binds it to subject only.
func applyClusterRole(ctx context.Context, u *unstructured.Unstructured, subject rbacv1.Subject) string {
	GinkgoHelper()
	role := &rbacv1.ClusterRole{}
	Expect(fromUnstructured(u, role)).To(Succeed())
	Expect(admin.Create(ctx, role)).To(Succeed())
	Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{subject},
	})).To(Succeed())
	return role.Name
}

// Stories run in random order and each needs the manager's RBAC: the first applies it.
var (
	generatedRBACApplied      bool
	leaderElectionRBACApplied = map[string]bool{}
)

// ensureGeneratedRBAC applies the generated RBAC unless a story already has.
func ensureGeneratedRBAC(ctx context.Context) {
	GinkgoHelper()
	if !generatedRBACApplied {
		applyGeneratedRBAC(ctx)
		generatedRBACApplied = true
	}
}

// applyLeaderElectionRBAC grants what leader election needs in each of namespaces (where the
// manager's Leases live) unless already granted there: the Role of
// config/rbac/leader_election_role.yaml when the repository ships one, otherwise the equivalent
// of kubebuilder's scaffolded leader-election Role. It returns which one it used.
func applyLeaderElectionRBAC(ctx context.Context, namespaces ...string) string {
	GinkgoHelper()
	ensureNamespace(ctx, managerNamespace)
	roles, source := leaderElectionRoles()
	for _, ns := range namespaces {
		if leaderElectionRBACApplied[ns] {
			continue
		}
		for _, u := range roles {
			u = u.DeepCopy()
			// kustomize replaces the file's placeholder namespace ("system") at build time.
			u.SetNamespace(ns)
			applyRole(ctx, u, ns)
		}
		leaderElectionRBACApplied[ns] = true
	}
	return source
}

// leaderElectionRoles reads the leader-election Roles the repository ships, or defines one.
func leaderElectionRoles() ([]*unstructured.Unstructured, string) {
	GinkgoHelper()
	path := filepath.Join(repoRoot, "config", "rbac", "leader_election_role.yaml")
	objs, err := readObjects(path)
	if errors.Is(err, fs.ErrNotExist) {
		role := &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-leader-election-role"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"},
					Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
					Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			},
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(role)
		Expect(err).NotTo(HaveOccurred())
		obj := &unstructured.Unstructured{Object: u}
		obj.SetKind("Role")
		return []*unstructured.Unstructured{obj}, "a Role defined in test/e2e (config/rbac/leader_election_role.yaml does not exist)"
	}
	Expect(err).NotTo(HaveOccurred())
	var roles []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Role" {
			roles = append(roles, u)
		}
	}
	Expect(roles).NotTo(BeEmpty(), "%s holds no Role", path)
	return roles, path
}

// applyRole creates a Role in namespace (when the object names none) and binds it to the manager.
func applyRole(ctx context.Context, u *unstructured.Unstructured, namespace string) {
	GinkgoHelper()
	role := &rbacv1.Role{}
	Expect(fromUnstructured(u, role)).To(Succeed())
	if role.Namespace == "" {
		role.Namespace = namespace
	}
	ensureNamespace(ctx, role.Namespace)
	Expect(admin.Create(ctx, role)).To(Succeed())
	Expect(admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + role.Name, Namespace: role.Namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{managerSubject()},
	})).To(Succeed())
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}

func ensureNamespace(ctx context.Context, name string) {
	GinkgoHelper()
	err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}
