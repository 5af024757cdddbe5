// Command demo is `make demo`: a real kube-apiserver and etcd (envtest), the ECS emulator with
// an embedded fleet of 330 instances, and the operator, all in this process; it applies two
// KeyPairDetachments with reboot enabled, shows a live progress table until both reach their
// end state, explains the outcome instance reason by instance reason, and keeps running for
// kubectl until Ctrl-C.
//
//	KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh) go run ./cmd/demo [--exit-when-done]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options configure one run. The fields below the flags are for the test.
type options struct {
	crdDir         string
	outDir         string
	emulatorListen string
	exitWhenDone   bool
	timeout        time.Duration

	out io.Writer
	tty bool
	// refresh is how often the table is redrawn.
	refresh time.Duration
	// rebootPoll is the reconciler's RebootPollInterval.
	rebootPoll time.Duration
	// stopping and starting, when set, replace the fleet's reboot phase durations.
	stopping, starting time.Duration
	// afterEnd runs once the end state is reached, before anything stops.
	afterEnd func(context.Context, *session) error
}

func main() {
	o := options{out: os.Stdout, tty: isTerminal(os.Stdout), rebootPoll: time.Second}
	flag.StringVar(&o.crdDir, "crd-dir", "config/crd/bases", "Folder of the CRD manifests to install.")
	flag.StringVar(&o.outDir, "out-dir", "bin/demo", "Folder for the kubeconfig, the applied manifests and the operator's log.")
	flag.StringVar(&o.emulatorListen, "emulator-listen", "127.0.0.1:0", "Address of the ECS emulator (port 0 picks a free one).")
	flag.BoolVar(&o.exitWhenDone, "exit-when-done", false,
		"Exit once every KeyPairDetachment reached its end state: 0 when it is the expected one, 1 otherwise or on --timeout.")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "With --exit-when-done: how long the rollout may take.")
	flag.Parse()
	o.refresh = 500 * time.Millisecond
	if !o.tty {
		o.refresh = 2 * time.Second
	}

	// The first Ctrl-C cleans up; a second one (after stop) kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// isTerminal says whether f is a character device, where the table is redrawn in place.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// errUnexpected marks an end state other than the one the demo fleet leads to.
var errUnexpected = errors.New("unexpected end state")

// printf writes to the terminal (or the test's buffer). Output is best effort: a closed stdout
// must not stop the demo from cleaning up, so write errors are dropped here, on purpose.
func printf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
