//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// Several installations in one cluster, as two Helm releases in two namespaces make them. Each
// gets its own proxy to the emulator, so that the calls of each are counted apart.
const (
	installationsKey = "E2eInstallationsKey"
	// installationsLeaseNamespace holds the cluster-wide Lease of the unscoped pair. Not
	// kube-system, where the main story's runs leave theirs: stories run in random order, and a
	// Lease left by one story would hold up the other until it expires.
	installationsLeaseNamespace = "e2e-cluster-lease"

	unscopedNamespace     = "e2e-unscoped"
	unscopedName          = "two-installations"
	unscopedInstances     = 6
	unscopedMaxConcurrent = 2

	scopedName      = "scoped"
	scopedInstances = 2
)

var (
	unscopedReleases = [2]string{"e2e-release-a", "e2e-release-b"}
	scopedReleases   = [2]string{"e2e-release-c", "e2e-release-d"}
	scopedNamespaces = [2]string{"e2e-scoped-c", "e2e-scoped-d"}
)

func unscopedIDs() []string {
	ids := make([]string, unscopedInstances)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-unscoped%d", i+1)
	}
	return ids
}

// scopedIDs are the instances of the object in scopedNamespaces[n].
func scopedIDs(n int) []string {
	ids := make([]string, scopedInstances)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-scoped%c%d", 'c'+n, i+1)
	}
	return ids
}

// installationsInstanceIDs are the fleet's instances for these stories: Running, carrying
// installationsKey.
func installationsInstanceIDs() []string {
	return slices.Concat(unscopedIDs(), scopedIDs(0), scopedIDs(1))
}

var _ = Describe("Several installations", Ordered, ContinueOnFailure, func() {
	var started []installation
	BeforeAll(func(ctx SpecContext) {
		ensureGeneratedRBAC(ctx)
	})
	AfterEach(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			dumpInstallations(ctx, started)
		}
		started = nil
	})

	It("act one at a time when unscoped: only the holder of the cluster-wide Lease works, and the other takes over without a second reboot",
		func(ctx SpecContext) {
			applyLeaderElectionRBAC(ctx, installationsLeaseNamespace)
			lease := types.NamespacedName{Namespace: installationsLeaseNamespace, Name: clusterLeaseID}
			unscoped := []string{"--cluster-lease-namespace", installationsLeaseNamespace}

			By("starting installation A alone: it takes the cluster-wide Lease")
			a := startInstallation("installation A", unscopedReleases[0], lease, unscoped...)
			started = append(started, a)
			a.holder = awaitNewHolder(ctx, lease, "")

			By("starting installation B, from another namespace: it waits for the same Lease")
			b := startInstallation("installation B", unscopedReleases[1], lease, unscoped...)
			started = append(started, b)
			Eventually(func(g Gomega) {
				b.expectAlive(g)
				log := readLog(g, b.logPath)
				g.Expect(log).To(ContainSubstring("Unscoped: acting only while holding the cluster-wide Lease"))
				g.Expect(log).To(ContainSubstring("Attempting to acquire leader lease"))
			}).WithTimeout(30 * time.Second).Should(Succeed())

			By("rolling out reboots: A works, B makes no ECS call")
			ensureNamespace(ctx, unscopedNamespace)
			Expect(admin.Create(ctx, credentialsSecret(rolloutSecret, unscopedNamespace))).To(Succeed())
			ids := unscopedIDs()
			Expect(admin.Create(ctx, installationsObject(unscopedName, unscopedNamespace, ids, unscopedMaxConcurrent))).To(Succeed())
			key := types.NamespacedName{Namespace: unscopedNamespace, Name: unscopedName}
			Eventually(func(g Gomega) int {
				a.expectAlive(g)
				b.expectAlive(g)
				if n := b.ecs.calls.Load(); n != 0 {
					StopTrying(fmt.Sprintf("installation B made %d ECS calls on standby", n)).Now()
				}
				return rebootsOf(emu.stats(g), ids)
			}).WithTimeout(time.Minute).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", unscopedMaxConcurrent))

			By("SIGKILLing installation A during the rollout")
			a.kill()
			atKill := rebootsOf(emu.stats(Default), ids)
			AddReportEntry("SIGKILL of installation A", fmt.Sprintf("after %d reboots, %d ECS calls from A, %d from B",
				atKill, a.ecs.calls.Load(), b.ecs.calls.Load()))
			Expect(atKill).To(BeNumerically("<", len(ids)), "the kill must land during the rollout")
			expectLeaseHeldBy(ctx, Default, a.managerProcess)
			Expect(b.ecs.calls.Load()).To(BeZero(), "installation B called ECS while A held the Lease")

			By("waiting for B to take the Lease once A's has expired, and to finish the rollout")
			b.holder = awaitNewHolder(ctx, lease, a.holder, b)
			AddReportEntry("installation B leads", fmt.Sprintf("holder %s (A was %s), after %d ECS calls from B",
				b.holder, a.holder, b.ecs.calls.Load()))
			kpd := waitReadyWhile(ctx, key, 2*time.Minute, b.managerProcess)
			Expect(b.ecs.calls.Load()).To(BeNumerically(">", 0), "installation B finished the rollout without an ECS call")
			expectRebootedOnce(ids)
			Expect(kpd.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: unscopedInstances, Detached: unscopedInstances, Rebooted: unscopedInstances}))
			expectLeaseHeldBy(ctx, Default, b.managerProcess)

			By("checking that neither installation elected on a Lease of its own namespace")
			for _, ns := range unscopedReleases {
				_, err := getLeaseAt(ctx, types.NamespacedName{Namespace: ns, Name: leaderElectionID})
				Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a Lease in %s: %v", ns, err)
			}
			expectCleanLogs(a, b)
		})

	It("act side by side when scoped to different namespaces, each on its own objects only", func(ctx SpecContext) {
		var insts [2]installation
		for i, ns := range scopedNamespaces {
			applyLeaderElectionRBAC(ctx, scopedReleases[i])
			ensureNamespace(ctx, ns)
			Expect(admin.Create(ctx, credentialsSecret(rolloutSecret, ns))).To(Succeed())
		}
		start := func(i int) {
			insts[i] = startInstallation(fmt.Sprintf("installation %c", 'C'+i), scopedReleases[i],
				types.NamespacedName{Namespace: scopedReleases[i], Name: leaderElectionID}, "--watch-namespaces", scopedNamespaces[i])
			started = append(started, insts[i])
			insts[i].holder = awaitNewHolder(ctx, insts[i].lease, "")
		}
		keys := [2]types.NamespacedName{}
		for i, ns := range scopedNamespaces {
			keys[i] = types.NamespacedName{Namespace: ns, Name: scopedName}
		}

		By("starting installation C alone, with both objects present: it converges its own and never touches the other")
		// D's object first, so that C would have seen it before its own if it could.
		for _, i := range []int{1, 0} {
			Expect(admin.Create(ctx, installationsObject(scopedName, scopedNamespaces[i], scopedIDs(i), scopedInstances))).To(Succeed())
		}
		start(0)
		waitReadyWhile(ctx, keys[0], time.Minute, insts[0].managerProcess)
		untouched := get(ctx, keys[1])
		Expect(untouched.Status.ObservedGeneration).To(BeZero(), "installation C wrote the status of %s", keys[1])
		Expect(untouched.Status.Conditions).To(BeEmpty(), "installation C wrote the status of %s", keys[1])
		Expect(rebootsOf(emu.stats(Default), scopedIDs(1))).To(BeZero())
		instances := emu.instances(Default)
		for _, id := range scopedIDs(1) {
			Expect(instances[id].KeyPairName).To(Equal(installationsKey), "%s lost its key with only installation C running", id)
		}

		By("starting installation D: it converges the other object, each installation holding its own Lease")
		start(1)
		Expect(insts[1].holder).NotTo(Equal(insts[0].holder))
		for i := range keys {
			kpd := waitReadyWhile(ctx, keys[i], time.Minute, insts[0].managerProcess, insts[1].managerProcess)
			Expect(kpd.Status.Summary).To(Equal(ecsv1alpha1.Summary{Total: scopedInstances, Detached: scopedInstances, Rebooted: scopedInstances}))
			expectRebootedOnce(scopedIDs(i))
		}
		for i, m := range insts {
			expectLeaseHeldBy(ctx, Default, m.managerProcess)
			Expect(m.ecs.calls.Load()).To(BeNumerically(">", 0), "%s made no ECS call", m.name)
			log := readLog(Default, m.logPath)
			Expect(log).To(ContainSubstring("Scoped to namespaces"))
			Expect(detachLines(log, scopedNamespaces[i])).NotTo(BeEmpty(), "%s never logged a detach in %s", m.name, scopedNamespaces[i])
			Expect(log).NotTo(ContainSubstring(scopedNamespaces[1-i]), "%s saw an object outside its namespaces", m.name)
		}

		By("checking that no scoped installation took a cluster-wide Lease")
		for _, ns := range []string{clusterLeaseNamespace, installationsLeaseNamespace} {
			lease, err := getLeaseAt(ctx, types.NamespacedName{Namespace: ns, Name: clusterLeaseID})
			if apierrors.IsNotFound(err) {
				continue
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).NotTo(BeElementOf(insts[0].holder, insts[1].holder), "the Lease in %s", ns)
		}
		expectCleanLogs(insts[0], insts[1])
	})
})

// installation is one manager process, released in a namespace of its own, with its own proxy
// to the emulator.
type installation struct {
	*managerProcess
	ecs *ecsProxy
}

// startInstallation starts the manager with the flags a Helm release in releaseNamespace gives
// it, plus args; the installation is stopped (SIGTERM) at the end of the spec, so that no
// unscoped one outlives its story and acts on the objects of the next.
func startInstallation(name, releaseNamespace string, lease types.NamespacedName, args ...string) installation {
	GinkgoHelper()
	proxy := startECSProxy()
	DeferCleanup(proxy.close)
	m := spawnManager(name, releaseNamespace+".log", lease, append([]string{
		"--leader-elect",
		"--leader-election-namespace", releaseNamespace,
		"--ecs-endpoint", proxy.url,
	}, args...)...)
	DeferCleanup(m.stop)
	return installation{managerProcess: m, ecs: proxy}
}

// awaitNewHolder waits until the Lease names a holder other than previous (empty: none yet),
// and returns it. Until then, standby must not have called ECS: the calls are read before the
// Lease, so a Lease that still names previous shows that standby was not leading yet.
func awaitNewHolder(ctx context.Context, key types.NamespacedName, previous string, standby ...installation) string {
	GinkgoHelper()
	holder := ""
	Eventually(func(g Gomega) {
		calls := map[string]int64{}
		for _, s := range standby {
			if s.exited() {
				StopTrying(s.name + " exited while waiting for the Lease").Now()
			}
			calls[s.name] = s.ecs.calls.Load()
		}
		lease, err := getLeaseAt(ctx, key)
		if err != nil && !apierrors.IsNotFound(err) {
			StopTrying("reading the Lease").Wrap(err).Now()
		}
		holder = ""
		if lease != nil {
			holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		}
		if holder == "" || holder == previous {
			for name, n := range calls {
				if n != 0 {
					StopTrying(fmt.Sprintf("%s made %d ECS calls on standby, while the Lease was held by %q", name, n, holder)).Now()
				}
			}
		}
		g.Expect(holder).NotTo(BeEmpty(), "nobody holds %s yet", key)
		g.Expect(holder).NotTo(Equal(previous), "%s still holds %s", previous, key)
	}).WithTimeout(leadershipTimeout).WithPolling(200*time.Millisecond).Should(Succeed(),
		"nobody new took %s within %s", key, leadershipTimeout)
	return holder
}

// installationsObject is a reboot-enabled KeyPairDetachment of installationsKey.
func installationsObject(name, namespace string, ids []string, maxConcurrent int32) *ecsv1alpha1.KeyPairDetachment {
	return &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{
			RegionID:             rolloutRegion,
			KeyPairName:          installationsKey,
			InstanceIDs:          ids,
			CredentialsSecretRef: &ecsv1alpha1.SecretReference{Name: rolloutSecret},
			Reboot:               ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: maxConcurrent},
		},
	}
}

func rebootsOf(s emulatorStats, ids []string) int {
	n := 0
	for _, id := range ids {
		n += s.Reboots[id]
	}
	return n
}

// expectRebootedOnce checks the emulator: each instance rebooted exactly once, not forced, with
// its key gone and Running again.
func expectRebootedOnce(ids []string) {
	GinkgoHelper()
	s := emu.stats(Default)
	instances := emu.instances(Default)
	got := map[string]int{}
	want := map[string]int{}
	for _, id := range ids {
		got[id], want[id] = s.Reboots[id], 1
		Expect(instances[id].KeyPairName).To(BeEmpty(), "%s still carries a key", id)
		Expect(instances[id].Status).To(Equal("Running"), id)
	}
	Expect(got).To(Equal(want), "reboots per instance")
}

func readLog(g Gomega, path string) string {
	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// detachLines are the log lines of detaches in namespace.
func detachLines(log, namespace string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Detached key pair") && strings.Contains(line, namespace) {
			out = append(out, line)
		}
	}
	return out
}

// expectCleanLogs fails on a permission the RBAC lacks or a data race, in any installation.
func expectCleanLogs(insts ...installation) {
	GinkgoHelper()
	for _, m := range insts {
		for _, line := range strings.Split(readLog(Default, m.logPath), "\n") {
			Expect(strings.ToLower(line)).NotTo(ContainSubstring("forbidden"), "%s: a permission is missing", m.logPath)
			Expect(line).NotTo(ContainSubstring("DATA RACE"), "%s", m.logPath)
		}
	}
}

// dumpInstallations prints what a failure of these stories needs: the logs, the Leases and
// the objects' status (dumpEvidence prints the emulator's counters and every status).
func dumpInstallations(ctx context.Context, insts []installation) {
	for _, m := range insts {
		GinkgoWriter.Printf("\n----- %s (%d ECS calls, holder %q) -----\n%s\n", m.logPath, m.ecs.calls.Load(), m.holder, tail(m.logPath, 200))
		if lease, err := getLeaseAt(ctx, m.lease); err == nil {
			GinkgoWriter.Printf("Lease %s: holder %q, renewed %v\n", m.lease, ptr.Deref(lease.Spec.HolderIdentity, ""), lease.Spec.RenewTime)
		}
	}
	dumpEvidence(ctx)
}
