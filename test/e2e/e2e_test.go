//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// The story runs in order: each step builds on the state the previous one left. A failed step
// does not hide the outcome of the later ones (ContinueOnFailure): a failure report then shows
// every problem of the run at once.
var _ = Describe("The manager binary", Ordered, ContinueOnFailure, func() {
	AfterEach(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			dumpEvidence(ctx)
		}
	})
	// The last run is unscoped: alive, it would act on the objects of the other stories.
	AfterAll(stopManager)

	It("runs as an identity bound only to the generated RBAC and the shipped metrics-auth-role", func(ctx SpecContext) {
		ensureGeneratedRBAC(ctx)
		applyShippedClusterRole(ctx, "metrics_auth_role.yaml", managerSubject())
		// The Role a kustomize install ships in the manager's namespace, and the same Role in the
		// namespace of the cluster-wide Lease, which an unscoped installation needs.
		source := applyLeaderElectionRBAC(ctx, managerNamespace, clusterLeaseNamespace)
		AddReportEntry("leader-election RBAC", source)

		By("checking that the identity may read KeyPairDetachments but is no cluster admin")
		Eventually(func(g Gomega) {
			g.Expect(restricted.List(ctx, &ecsv1alpha1.KeyPairDetachmentList{})).To(Succeed())
		}).WithTimeout(10 * time.Second).Should(Succeed())
		err := restricted.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-forbidden"}})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "creating a namespace must be forbidden, got %v", err)
		err = restricted.Create(ctx, rolloutObject("e2e-forbidden-kpd", managerNamespace))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "creating a KeyPairDetachment must be forbidden, got %v", err)
	})

	It("starts as that identity, becomes ready and takes the cluster-wide Lease", func(ctx SpecContext) {
		startManager(ctx)
		expectLeaseHeldBy(ctx, Default, manager)

		By("checking that readiness covers the informer cache and the ECS client factory")
		resp, err := http.Get("http://" + manager.probe + "/readyz?verbose")
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
		Expect(string(body)).To(ContainSubstring("[+]informer-cache ok"))
		Expect(string(body)).To(ContainSubstring("[+]ecs-client-factory ok"))
	})

	It("reboots each instance exactly once although it is SIGKILLed twice during the rollout", func(ctx SpecContext) {
		ensureNamespace(ctx, rolloutNamespace)
		Expect(admin.Create(ctx, credentialsSecret(rolloutSecret, rolloutNamespace))).To(Succeed())
		before := emu.stats(Default).totalReboots()
		Expect(admin.Create(ctx, rolloutObject(rolloutName, rolloutNamespace))).To(Succeed())
		key := types.NamespacedName{Namespace: rolloutNamespace, Name: rolloutName}

		for _, threshold := range []int{10, 25} {
			By(fmt.Sprintf("SIGKILLing manager run %d once %d instances have been rebooted", manager.n, threshold))
			// Polled every 50ms: the kill lands right after a RebootInstances call, when the
			// markers of the batch just sent are the newest state in the API server.
			Eventually(func(g Gomega) int {
				expectAlive(g)
				return emu.stats(g).totalReboots() - before
			}).WithTimeout(2 * time.Minute).WithPolling(50 * time.Millisecond).Should(BeNumerically(">=", threshold))
			manager.kill()
			rebooted := emu.stats(Default).totalReboots() - before
			kpd := get(ctx, key)
			AddReportEntry(fmt.Sprintf("SIGKILL of run %d", manager.n),
				fmt.Sprintf("after %d reboots; last written status: %s", rebooted, rebootedReasons(kpd)))
			Expect(rebooted).To(BeNumerically("<", rolloutRunning), "the kill must land during the rollout")
			Expect(meta.IsStatusConditionTrue(kpd.Status.Conditions, ecsv1alpha1.ConditionReady)).To(BeFalse())
			// The killed run led until it died, and a SIGKILL releases nothing: the next run
			// waits for the Lease to expire, making no ECS call meanwhile (startManager).
			expectLeaseHeldBy(ctx, Default, manager)
			startManager(ctx)
		}

		kpd := waitReady(ctx, key, 3*time.Minute)
		s := emu.stats(Default)
		AddReportEntry("emulator after the rollout", fmt.Sprintf("reboots %d, maxConcurrentReboots %d, calls %v",
			s.totalReboots()-before, s.MaxConcurrentReboots, s.Calls))

		By("checking the emulator: exactly one reboot per Running instance, never more than 5 at once, none forced")
		var wrong []string
		for _, id := range rolloutRunningIDs() {
			if n := s.Reboots[id]; n != 1 {
				wrong = append(wrong, fmt.Sprintf("%s rebooted %d times", id, n))
			}
		}
		for _, id := range append([]string{rolloutNoKey}, rolloutStopped...) {
			if n := s.Reboots[id]; n != 0 {
				wrong = append(wrong, fmt.Sprintf("%s rebooted %d times (must never be)", id, n))
			}
		}
		for id, n := range s.Reboots {
			if n > 1 && !strings.HasPrefix(id, rolloutPrefix) {
				wrong = append(wrong, fmt.Sprintf("%s rebooted %d times", id, n))
			}
		}
		sort.Strings(wrong)
		Expect(wrong).To(BeEmpty())
		Expect(s.MaxConcurrentReboots).To(BeNumerically(">", 0))
		Expect(s.MaxConcurrentReboots).To(BeNumerically("<=", rolloutMaxConcurrent))
		Expect(s.ForceReboots).To(BeZero())
		Expect(s.Rejected).To(BeEmpty(), "every request must be signed right")
		instances := emu.instances(Default)
		for _, id := range rolloutRunningIDs() {
			Expect(instances[id].KeyPairName).To(BeEmpty(), "%s still carries a key", id)
			Expect(instances[id].Status).To(Equal("Running"), id)
		}

		By("checking the status the restarted manager converged to")
		Expect(kpd.Status.Summary).To(Equal(ecsv1alpha1.Summary{
			Total: rolloutRunning + 3, Detached: rolloutRunning + 3, Rebooted: rolloutRunning}))
		Expect(meta.IsStatusConditionTrue(kpd.Status.Conditions, ecsv1alpha1.ConditionStalled)).To(BeFalse())
		Expect(meta.IsStatusConditionTrue(kpd.Status.Conditions, ecsv1alpha1.ConditionRebooted)).To(BeTrue())
		byID := instanceConditions(kpd)
		for _, id := range rolloutRunningIDs() {
			Expect(byID[id]).To(Equal([2]string{ecsv1alpha1.ReasonDetached, ecsv1alpha1.ReasonRebooted}), id)
		}
		for _, id := range rolloutStopped {
			Expect(byID[id]).To(Equal([2]string{ecsv1alpha1.ReasonDetached, ecsv1alpha1.ReasonInstanceStopped}), id)
		}
		Expect(byID[rolloutNoKey]).To(Equal([2]string{ecsv1alpha1.ReasonNotAttached, ecsv1alpha1.ReasonNotRequired}))

		By("checking that no late reboot follows convergence")
		total := s.totalReboots()
		Consistently(func(g Gomega) int { return emu.stats(g).totalReboots() }).
			WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Equal(total))
		Expect(managerRuns).To(Equal(3))
	})

	// At once, as users apply them: the basic and the reboot samples name the same instances
	// and key, so two objects race to detach them, and both must still converge; the instances
	// are rebooted once, by the reboot sample, whichever object detached them.
	It("converges the samples of config/samples, applied at once as `kubectl apply -k` does", func(ctx SpecContext) {
		By(fmt.Sprintf("applying %v to namespace %s", fleet.sampleFiles, fleet.sampleNamespace))
		ensureNamespace(ctx, fleet.sampleNamespace)
		for _, name := range fleet.secretsToCreate {
			Expect(admin.Create(ctx, credentialsSecret(name, fleet.sampleNamespace))).To(Succeed())
		}
		for _, o := range fleet.sampleObjects {
			if o.GetKind() == "Namespace" {
				ensureNamespace(ctx, o.GetName())
				continue
			}
			Expect(admin.Create(ctx, o.DeepCopy())).To(Succeed())
		}
		for _, u := range fleet.sampleKPDs {
			Expect(admin.Create(ctx, u.DeepCopy())).To(Succeed())
		}
		converged := make([]*ecsv1alpha1.KeyPairDetachment, 0, len(fleet.sampleKPDs))
		for _, u := range fleet.sampleKPDs {
			converged = append(converged, waitReady(ctx, client.ObjectKeyFromObject(u), 2*time.Minute))
		}
		assertSamplesOutcome(converged)
	})

	It("serves metrics over HTTPS to a token bound to the shipped metrics-reader role, and to no one else", func(ctx SpecContext) {
		ensureNamespace(ctx, metricsNamespace)
		role := applyShippedClusterRole(ctx, "metrics_reader_role.yaml", serviceAccountSubject(metricsNamespace, metricsScraper))
		Expect(role).To(Equal("metrics-reader"))
		scraper := scraperToken(ctx, metricsNamespace, metricsScraper)
		unbound := scraperToken(ctx, metricsNamespace, metricsUnboundAccount)
		awaitMetricsAccess(ctx, serviceAccountUser(metricsNamespace, metricsScraper), true)
		awaitMetricsAccess(ctx, serviceAccountUser(metricsNamespace, metricsUnboundAccount), false)

		By("scraping without a token: 401")
		code, body := scrapeMetrics(Default, "")
		Expect(code).To(Equal(http.StatusUnauthorized), body)
		By("scraping with a token whose account is not bound to metrics-reader: 403")
		code, body = scrapeMetrics(Default, unbound)
		Expect(code).To(Equal(http.StatusForbidden), body)
		By("scraping with the metrics-reader token: 200 and the operator's ECS call counters")
		code, body = scrapeMetrics(Default, scraper)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`ecs_keypair_operator_ecs_calls_total{action="DescribeInstances",code="OK"}`))
	})

	It("never needed a permission it was not granted, led with the leader-election Role, and recorded events", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			g.Expect(eventReasons(ctx, g, rolloutNamespace, rolloutName)).To(ContainElements("Ready", "RolloutFinished"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		for _, u := range fleet.sampleKPDs {
			Eventually(func(g Gomega) {
				g.Expect(eventReasons(ctx, g, u.GetNamespace(), u.GetName())).To(ContainElement("Ready"))
			}).WithTimeout(30*time.Second).Should(Succeed(), "sample %s/%s", u.GetNamespace(), u.GetName())
		}
		By("checking that every run led with the leader-election Role, and the last one still does")
		lease := expectLeaseHeldBy(ctx, Default, manager)
		Expect(leaseHolders).To(HaveLen(managerRuns))
		Expect(ptr.Deref(lease.Spec.LeaseTransitions, 0)).To(BeNumerically("==", managerRuns-1),
			"run 1 created the Lease, each later run took it over")
		Expect(lease.Spec.AcquireTime).NotTo(BeNil())
		Expect(lease.Spec.RenewTime.After(lease.Spec.AcquireTime.Time)).To(BeTrue(), "the leader never renewed the Lease")
		Eventually(func(g Gomega) {
			g.Expect(leaderElectionEvents(ctx, g)).To(ContainElements(becameLeader(leaseHolders)))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(managerLogs).To(HaveLen(managerRuns))
		for _, path := range managerLogs {
			data, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			for _, line := range strings.Split(string(data), "\n") {
				Expect(strings.ToLower(line)).NotTo(ContainSubstring("forbidden"), "%s: a permission is missing from the RBAC markers", path)
				Expect(line).NotTo(ContainSubstring("DATA RACE"), "%s", path)
			}
		}
	})
})

// rolloutObject is the reboot-enabled KeyPairDetachment the manager is killed in.
func rolloutObject(name, namespace string) *ecsv1alpha1.KeyPairDetachment {
	ids := append(rolloutRunningIDs(), rolloutStopped...)
	ids = append(ids, rolloutNoKey)
	return &ecsv1alpha1.KeyPairDetachment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: ecsv1alpha1.KeyPairDetachmentSpec{
			RegionID:             rolloutRegion,
			KeyPairName:          rolloutKey,
			InstanceIDs:          ids,
			CredentialsSecretRef: &ecsv1alpha1.SecretReference{Name: rolloutSecret},
			Reboot:               ecsv1alpha1.RebootSpec{Enabled: true, MaxConcurrent: rolloutMaxConcurrent},
		},
	}
}

func credentialsSecret(name, namespace string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		StringData: map[string]string{"accessKeyId": secretAccessKeyID, "accessKeySecret": secretAccessKeySecret},
	}
}

func get(ctx context.Context, key types.NamespacedName) *ecsv1alpha1.KeyPairDetachment {
	GinkgoHelper()
	kpd := &ecsv1alpha1.KeyPairDetachment{}
	Expect(admin.Get(ctx, key, kpd)).To(Succeed())
	return kpd
}

// waitReady waits for Ready=True on the current generation, with the manager alive throughout.
func waitReady(ctx context.Context, key types.NamespacedName, timeout time.Duration) *ecsv1alpha1.KeyPairDetachment {
	GinkgoHelper()
	return waitReadyWhile(ctx, key, timeout, manager)
}

// waitReadyWhile waits for Ready=True on the current generation, with the given manager
// processes alive throughout.
func waitReadyWhile(ctx context.Context, key types.NamespacedName, timeout time.Duration,
	alive ...*managerProcess) *ecsv1alpha1.KeyPairDetachment {
	GinkgoHelper()
	kpd := &ecsv1alpha1.KeyPairDetachment{}
	Eventually(func(g Gomega) {
		for _, m := range alive {
			g.Expect(m).NotTo(BeNil())
			m.expectAlive(g)
		}
		g.Expect(admin.Get(ctx, key, kpd)).To(Succeed())
		g.Expect(kpd.Status.ObservedGeneration).To(Equal(kpd.Generation))
		ready := meta.FindStatusCondition(kpd.Status.Conditions, ecsv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil(), "no Ready condition yet")
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "Ready: %s/%s", ready.Reason, ready.Message)
	}).WithTimeout(timeout).WithPolling(250*time.Millisecond).Should(Succeed(), "%s never became Ready", key)
	return kpd
}

// assertSamplesOutcome checks the converged samples against the emulator: none failed, the key
// is gone from their instances, and an instance was rebooted once if a reboot-enabled sample
// detached it from a Running instance (two samples may name the same instance: only the one
// that detached it reboots it), never otherwise.
func assertSamplesOutcome(kpds []*ecsv1alpha1.KeyPairDetachment) {
	GinkgoHelper()
	s := emu.stats(Default)
	instances := emu.instances(Default)
	// An instance some object detached gets exactly one reboot if any object naming it asks
	// for reboots: the one that reboots it says Rebooted, the others RebootedByOther.
	detachedBy := map[string]bool{}
	for _, kpd := range kpds {
		for id, reasons := range instanceConditions(kpd) {
			if reasons[0] == ecsv1alpha1.ReasonDetached {
				detachedBy[id] = true
			}
		}
	}
	want := map[string]int{}
	for _, kpd := range kpds {
		Expect(kpd.Status.Summary.Total).To(BeNumerically("==", len(kpd.Spec.InstanceIDs)), kpd.Name)
		Expect(kpd.Status.Summary.Failed).To(BeZero(), kpd.Name)
		Expect(kpd.Status.Summary.Pending).To(BeZero(), kpd.Name)
		byID := instanceConditions(kpd)
		for _, id := range kpd.Spec.InstanceIDs {
			Expect(instances[id].KeyPairName).To(BeEmpty(), "%s still carries a key", id)
			want[id] += 0
			if kpd.Spec.Reboot.Enabled && detachedBy[id] && instances[id].Status == "Running" {
				Expect(byID[id][1]).To(BeElementOf(ecsv1alpha1.ReasonRebooted, ecsv1alpha1.ReasonRebootedByOther), "%s/%s", kpd.Name, id)
				if byID[id][1] == ecsv1alpha1.ReasonRebooted {
					want[id]++
				}
			}
		}
	}
	got := map[string]int{}
	for id := range want {
		got[id] = s.Reboots[id]
	}
	Expect(got).To(Equal(want), "reboots per sample instance")
}

// instanceConditions maps each instance to the reasons of its Detached and Rebooted conditions.
func instanceConditions(kpd *ecsv1alpha1.KeyPairDetachment) map[string][2]string {
	out := map[string][2]string{}
	for _, i := range kpd.Status.Instances {
		var r [2]string
		if c := ecsv1alpha1.FindInstanceCondition(i.Conditions, ecsv1alpha1.ConditionDetached); c != nil {
			r[0] = c.Reason
		}
		if c := ecsv1alpha1.FindInstanceCondition(i.Conditions, ecsv1alpha1.ConditionRebooted); c != nil {
			r[1] = c.Reason
		}
		out[i.InstanceID] = r
	}
	return out
}

// rebootedReasons counts the instances by the reason of their Rebooted condition.
func rebootedReasons(kpd *ecsv1alpha1.KeyPairDetachment) string {
	counts := map[string]int{}
	for _, r := range instanceConditions(kpd) {
		counts[r[1]]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// eventReasons lists the reasons of the events.k8s.io Events about one object.
func eventReasons(ctx context.Context, g Gomega, namespace, name string) []string {
	list := &eventsv1.EventList{}
	g.Expect(admin.List(ctx, list, client.InNamespace(namespace))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// leaderElectionEvents lists the messages of the (core/v1) Events leader election records about
// the cluster-wide Lease.
func leaderElectionEvents(ctx context.Context, g Gomega) []string {
	list := &corev1.EventList{}
	g.Expect(admin.List(ctx, list, client.InNamespace(clusterLeaseNamespace))).To(Succeed())
	var messages []string
	for _, e := range list.Items {
		if e.Reason == "LeaderElection" && e.InvolvedObject.Kind == "Lease" && e.InvolvedObject.Name == clusterLeaseID {
			messages = append(messages, e.Message)
		}
	}
	return messages
}

// becameLeader is the message of the event each holder recorded when it took the Lease.
func becameLeader(holders []string) []string {
	out := make([]string, 0, len(holders))
	for _, h := range holders {
		out = append(out, h+" became leader")
	}
	return out
}

// dumpEvidence prints what a failure needs: the manager's logs, the emulator's counters and
// every KeyPairDetachment's status.
func dumpEvidence(ctx context.Context) {
	GinkgoWriter.Printf("\n===== evidence (work directory %s kept) =====\n", workDir)
	for _, path := range managerLogs {
		GinkgoWriter.Printf("\n----- %s -----\n%s\n", path, tail(path, 200))
	}
	if emu != nil {
		var s emulatorStats
		if err := emu.getJSON("/_emulator/stats", &s); err == nil {
			data, _ := json.Marshal(s)
			GinkgoWriter.Printf("\n----- emulator stats -----\n%s\n", data)
		}
	}
	if admin != nil {
		GinkgoWriter.Printf("\n----- cluster-wide Lease (holders by run: %v) -----\n", leaseHolders)
		if lease, err := getLease(ctx); err == nil {
			data, _ := yaml.Marshal(lease.Spec)
			GinkgoWriter.Printf("%s\n", data)
		} else {
			GinkgoWriter.Printf("%v\n", err)
		}
		list := &ecsv1alpha1.KeyPairDetachmentList{}
		if err := admin.List(ctx, list); err == nil {
			for _, kpd := range list.Items {
				data, _ := yaml.Marshal(kpd.Status)
				GinkgoWriter.Printf("\n----- status of %s/%s (generation %d) -----\n%s\n", kpd.Namespace, kpd.Name, kpd.Generation, data)
			}
		}
	}
}
