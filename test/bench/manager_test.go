package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// managerProc is the manager binary run as a child process with its default flags, except
// those that point it at the control plane and the emulator. A restart reuses the flags and
// appends to the same log, as a restarted container would.
type managerProc struct {
	bin     string
	args    []string
	logPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	// endedPeakKiB is the highest peak RSS of the runs that have ended: /proc forgets a
	// process once it is reaped.
	endedPeakKiB int
}

// The manager runs as if deployed in namespace, whose objects may use its identity.
func startManager(b *testing.B, bin, kubeconfig, ecsURL, namespace, logPath string, extraArgs ...string) *managerProc {
	b.Helper()
	m := &managerProc{
		bin: bin,
		args: []string{"--kubeconfig", kubeconfig, "--ecs-endpoint", ecsURL,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
			"--manager-identity-namespaces", namespace},
		logPath: logPath,
	}
	m.args = append(m.args, extraArgs...)
	m.start(b)
	return m
}

func (m *managerProc) start(b *testing.B) {
	b.Helper()
	log, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+accessKey, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+secretKey)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		b.Fatalf("Starting the manager: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(done)
	}()
	m.cmd, m.log, m.done = cmd, log, done
}

// exited reports whether the current run has ended; only kill and stop end it on purpose.
func (m *managerProc) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// kill is SIGKILL, as an OOM kill or a lost node would be: no graceful shutdown, no last
// status write. The note goes into the log so that a reader sees where one run ends.
func (m *managerProc) kill(b *testing.B, note string) {
	b.Helper()
	if m.exited() {
		b.Fatalf("The manager had exited on its own before the SIGKILL: %s", m.cmd.ProcessState)
	}
	_, _ = fmt.Fprintf(m.log, "Bench: SIGKILL (%s)\n", note)
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		b.Fatalf("SIGKILL of the manager: %v", err)
	}
	<-m.done
	m.endedPeakKiB = max(m.endedPeakKiB, maxRSSKiB(m.cmd.ProcessState))
}

// stop ends the current run, if any, as a Deployment's rolling update does: SIGTERM, then
// SIGKILL if it has not ended within the grace period. A graceful stop hands the Lease over,
// so the next trial's manager does not wait out the lease duration. It may be called more
// than once.
func (m *managerProc) stop() {
	if m.cmd == nil || m.exited() {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(stopGracePeriod):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// stopGracePeriod is a Pod's default terminationGracePeriodSeconds.
const stopGracePeriod = 30 * time.Second

// peakKiB is the highest peak RSS over every run of this manager, the live one included.
func (m *managerProc) peakKiB(b *testing.B) int {
	b.Helper()
	if m.exited() {
		return max(m.endedPeakKiB, maxRSSKiB(m.cmd.ProcessState))
	}
	return max(m.endedPeakKiB, peakRSSKiB(b, m.cmd.Process.Pid))
}

// maxRSSKiB is the peak RSS of a reaped process; Linux reports ru_maxrss in KiB.
func maxRSSKiB(state *os.ProcessState) int {
	if usage, ok := state.SysUsage().(*syscall.Rusage); ok {
		return int(usage.Maxrss)
	}
	return 0
}

// peakRSSKiB reads the process's high-water resident set size (VmHWM) from /proc.
func peakRSSKiB(b *testing.B, pid int) int {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "VmHWM:" {
			kib, err := strconv.Atoi(fields[1])
			if err != nil {
				b.Fatal(err)
			}
			return kib
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}
