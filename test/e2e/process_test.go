//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// emulatorProcess is cmd/ecs-emulator running as a child process.
type emulatorProcess struct {
	cmd  *exec.Cmd
	url  string
	log  *os.File
	done chan struct{}
}

// startEmulator starts the emulator on a free port and waits for its ready line.
func startEmulator(bin, fleetPath, logPath string) (*emulatorProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--fleet", fleetPath)
	cmd.Stdout = &readyLineWriter{w: log, prefix: "listening on ", ready: ready}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, err
	}
	e := &emulatorProcess{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(e.done)
	}()
	select {
	case e.url = <-ready:
		return e, nil
	case <-e.done:
		return nil, fmt.Errorf("the emulator exited before its ready line; see %s", logPath)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("no ready line from the emulator within 30s; see %s", logPath)
	}
}

// stop sends SIGTERM, which the emulator's contract answers with a clean exit 0.
func (e *emulatorProcess) stop() error {
	defer func() { _ = e.log.Close() }()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		return fmt.Errorf("the emulator ignored SIGTERM for 10s")
	}
	if code := e.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("the emulator exited with status %d after SIGTERM", code)
	}
	return nil
}

// emulatorStats is GET /_emulator/stats (design.md §5).
type emulatorStats struct {
	Calls                map[string]int `json:"calls"`
	Reboots              map[string]int `json:"reboots"`
	MaxConcurrentReboots int            `json:"maxConcurrentReboots"`
	ForceReboots         int            `json:"forceReboots"`
	Rejected             map[string]int `json:"rejected"`
	Errors               map[string]int `json:"errors"`
}

// totalReboots counts every reboot performed, so that a second reboot of one instance shows.
func (s emulatorStats) totalReboots() int {
	n := 0
	for _, c := range s.Reboots {
		n += c
	}
	return n
}

// totalCalls counts the authenticated ECS calls the emulator received, whatever their outcome.
func (s emulatorStats) totalCalls() int {
	n := 0
	for _, c := range s.Calls {
		n += c
	}
	return n
}

// emulatorInstance is one entry of GET /_emulator/instances.
type emulatorInstance struct {
	InstanceID  string `json:"instanceId"`
	Status      string `json:"status"`
	KeyPairName string `json:"keyPairName"`
}

func (e *emulatorProcess) getJSON(path string, into any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.url + path)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, into)
}

func (e *emulatorProcess) stats(g Gomega) emulatorStats {
	var s emulatorStats
	g.Expect(e.getJSON("/_emulator/stats", &s)).To(Succeed())
	return s
}

func (e *emulatorProcess) instances(g Gomega) map[string]emulatorInstance {
	var list []emulatorInstance
	g.Expect(e.getJSON("/_emulator/instances", &list)).To(Succeed())
	out := make(map[string]emulatorInstance, len(list))
	for _, i := range list {
		out[i.InstanceID] = i
	}
	return out
}

// readyLineWriter copies a child's stdout to its log and reports the first line that starts
// with prefix (the rest of the line) on ready.
type readyLineWriter struct {
	w      io.Writer
	prefix string
	ready  chan<- string

	mu   sync.Mutex
	buf  []byte
	sent bool
}

func (r *readyLineWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.w.Write(p); err != nil {
		return 0, err
	}
	if r.sent {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(r.buf[:i]))
		r.buf = r.buf[i+1:]
		if rest, ok := strings.CutPrefix(line, r.prefix); ok {
			r.ready <- rest
			r.sent = true
			r.buf = nil
			break
		}
	}
	return len(p), nil
}

// managerProcess is one run of the real manager binary.
type managerProcess struct {
	n       int
	name    string
	cmd     *exec.Cmd
	logPath string
	probe   string
	// metrics is the address of its metrics endpoint (HTTPS, authenticated).
	metrics string
	log     *os.File
	done    chan struct{}
	// lease is the leader-election Lease it contends for; holder is its identity in it, once it
	// has taken it.
	lease  types.NamespacedName
	holder string
}

var (
	// manager is the current run; managerRuns counts every start, managerLogs lists their logs,
	// leaseHolders the identity each run held the Lease with, in order.
	manager      *managerProcess
	managerRuns  int
	managerLogs  []string
	leaseHolders []string
)

// Credentials of the manager's own identity (env), and of the identity a Secret carries.
const (
	managerAccessKeyID     = "LTAI_E2E_MANAGER"
	managerAccessKeySecret = "e2e-manager-secret"
	secretAccessKeyID      = "LTAI_E2E_SECRETREF"
	secretAccessKeySecret  = "e2e-secretref-secret"
)

// startManager starts the manager binary as the restricted user, with the flags a Deployment
// gives it, waits until its readiness probe answers and then until it holds the leader-election
// Lease (see awaitLeadership).
//
// It runs unscoped, as a default install does, so it elects on the cluster-wide Lease in
// kube-system; --leader-elect and --leader-election-namespace are passed as a Deployment passes
// them, and have no effect then.
func startManager(ctx context.Context) {
	GinkgoHelper()
	managerRuns++
	m := spawnManager(fmt.Sprintf("manager run %d", managerRuns), fmt.Sprintf("manager-%d.log", managerRuns),
		types.NamespacedName{Namespace: clusterLeaseNamespace, Name: clusterLeaseID},
		"--leader-elect",
		"--leader-election-namespace", managerNamespace,
		"--ecs-endpoint", emu.url,
		// The samples without a Secret of their own go to the sample namespace, as a platform
		// team's objects would to the namespace it grants the identity.
		"--manager-identity-namespaces", fleet.sampleNamespace,
	)
	m.n = managerRuns
	managerLogs = append(managerLogs, m.logPath)
	manager = m
	standby := m.awaitLeadership(ctx)
	AddReportEntry(fmt.Sprintf("manager run %d leads", m.n),
		fmt.Sprintf("holder %s, after %s on standby", m.holder, standby.Round(10*time.Millisecond)))
}

// spawnManager starts the manager binary as the restricted user with the manager's own cloud
// identity in its environment, and waits until its readiness probe answers. args are the
// flags of the story at hand; lease is the Lease they make it contend for.
func spawnManager(name, logName string, lease types.NamespacedName, args ...string) *managerProcess {
	GinkgoHelper()
	m := &managerProcess{
		name:    name,
		logPath: filepath.Join(workDir, logName),
		probe:   fmt.Sprintf("127.0.0.1:%d", freePort()),
		metrics: fmt.Sprintf("127.0.0.1:%d", freePort()),
		done:    make(chan struct{}),
		lease:   lease,
	}
	var err error
	m.log, err = os.Create(m.logPath)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(managerBin, append([]string{
		"--kubeconfig", managerKubeconfig,
		"--metrics-bind-address", m.metrics,
		"--health-probe-bind-address", m.probe,
	}, args...)...)
	m.cmd.Env = append(cleanEnv(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+managerAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET="+managerAccessKeySecret,
	)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	Expect(m.cmd.Start()).To(Succeed())
	go func() {
		_ = m.cmd.Wait()
		_ = m.log.Close()
		close(m.done)
	}()
	By(fmt.Sprintf("%s started (pid %d, log %s)", m.name, m.cmd.Process.Pid, m.logPath))
	// Ready does not mean leading: the probes answer while the manager waits for the Lease, as a
	// standby replica of a Deployment does.
	Eventually(func(g Gomega) {
		g.Expect(m.exited()).To(BeFalse(), "%s exited: %s", m.name, m.cmd.ProcessState)
		resp, err := http.Get("http://" + m.probe + "/readyz")
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	return m
}

// leadershipTimeout bounds the wait for the Lease: after a SIGKILL the dead run's Lease must
// expire first (controller-runtime's LeaseDuration, 15s, counted from the new run's first read
// of it), then the new run takes it at its next retry (RetryPeriod, 2s, with jitter). The rest
// is margin for a loaded machine.
const leadershipTimeout = 60 * time.Second

// awaitLeadership waits until m holds the leader-election Lease, and returns how long it waited.
// m is the only manager process alive (a killed run has been reaped), so a holder that no
// earlier run had is m's identity (host name and a fresh UUID per process). Until then m is on
// standby, and must not have made a single ECS call: only the leader works.
func (m *managerProcess) awaitLeadership(ctx context.Context) time.Duration {
	GinkgoHelper()
	start := time.Now()
	callsBefore := emu.stats(Default).totalCalls()
	Eventually(func(g Gomega) {
		if manager == nil || manager.exited() {
			StopTrying(fmt.Sprintf("manager run %d exited while waiting for the Lease", m.n)).Now()
		}
		// The counters are read before the Lease: if the Lease still names no new holder, m was
		// not leading yet when the counters were read.
		calls := emu.stats(g).totalCalls()
		lease, err := getLeaseAt(ctx, m.lease)
		if err != nil && !apierrors.IsNotFound(err) {
			StopTrying("reading the Lease").Wrap(err).Now()
		}
		holder := ""
		if lease != nil {
			holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		}
		if holder == "" || slices.Contains(leaseHolders, holder) {
			if calls != callsBefore {
				StopTrying(fmt.Sprintf("manager run %d called ECS on standby, while the Lease was held by %q", m.n, holder)).Now()
			}
			g.Expect(holder).NotTo(BeEmpty(), "manager run %d has not taken the Lease yet", m.n)
			g.Expect(leaseHolders).NotTo(ContainElement(holder), "manager run %d has not taken the Lease yet", m.n)
		}
		m.holder = holder
	}).WithTimeout(leadershipTimeout).WithPolling(200*time.Millisecond).Should(Succeed(),
		"manager run %d did not take the Lease within %s", m.n, leadershipTimeout)
	leaseHolders = append(leaseHolders, m.holder)
	return time.Since(start)
}

// getLease reads the cluster-wide Lease the manager runs of the main story contend for.
func getLease(ctx context.Context) (*coordinationv1.Lease, error) {
	return getLeaseAt(ctx, types.NamespacedName{Namespace: clusterLeaseNamespace, Name: clusterLeaseID})
}

// getLeaseAt reads a Lease as the test's admin.
func getLeaseAt(ctx context.Context, key types.NamespacedName) (*coordinationv1.Lease, error) {
	lease := &coordinationv1.Lease{}
	if err := admin.Get(ctx, key, lease); err != nil {
		return nil, err
	}
	return lease, nil
}

// expectLeaseHeldBy checks that m holds the Lease and renewed it within its duration: at a
// SIGKILL (nothing is released then), the killed run; otherwise, the running one.
func expectLeaseHeldBy(ctx context.Context, g Gomega, m *managerProcess) *coordinationv1.Lease {
	lease, err := getLeaseAt(ctx, m.lease)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.holder).NotTo(BeEmpty(), "%s never led", m.name)
	g.Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).To(Equal(m.holder), "the Lease's holder is not %s", m.name)
	duration := time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)) * time.Second
	g.Expect(duration).To(BeNumerically(">", 0))
	g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
	g.Expect(time.Since(lease.Spec.RenewTime.Time)).To(BeNumerically("<", duration),
		"%s last renewed the Lease at %s", m.name, lease.Spec.RenewTime)
	return lease
}

func (m *managerProcess) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// kill is SIGKILL: no deferred status write, no graceful shutdown.
func (m *managerProcess) kill() {
	GinkgoHelper()
	Expect(m.exited()).To(BeFalse(), "the manager had already exited")
	Expect(m.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
	Eventually(m.done).WithTimeout(10 * time.Second).Should(BeClosed())
}

// expectAlive fails when the current manager run has exited on its own.
func expectAlive(g Gomega) {
	g.Expect(manager).NotTo(BeNil())
	manager.expectAlive(g)
}

func (m *managerProcess) expectAlive(g Gomega) {
	g.Expect(m.exited()).To(BeFalse(), "%s exited on its own: %s", m.name, m.cmd.ProcessState)
}

// stopManager ends the current run gracefully (SIGTERM), if any.
func stopManager() {
	if manager != nil {
		manager.stop()
	}
}

// stop ends a run gracefully (SIGTERM) unless it has exited already.
func (m *managerProcess) stop() {
	if m.exited() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// cleanEnv is the test's environment without what would give the manager another cluster or
// another cloud identity than the ones the test hands it.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "KUBECONFIG" || strings.HasPrefix(name, "ALIBABA_CLOUD_") || strings.HasPrefix(name, "KUBERNETES_SERVICE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of a file, for failure reports.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines in %s)", len(lines)-n, path)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
