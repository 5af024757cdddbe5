package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// session is the running demo as the afterEnd hook sees it.
type session struct {
	emulator    *ecsemu.Emulator
	emulatorURL string
	kubeconfig  string
	objects     []*ecsv1alpha1.KeyPairDetachment
	rotation    *ecsv1alpha1.KeyPairAttachment
}

// demo holds what one run started, so that it can be stopped in reverse order.
type demo struct {
	o       options
	start   time.Time
	outDir  string
	logPath string
	logFile *os.File
	log     logr.Logger

	emu      *ecsemu.Emulator
	emuURL   string
	before   []ecsemu.Instance // the fleet when the demo started
	account  ecsemu.Account
	cp       *controlPlane
	c        client.Client
	names    []string
	manifest string

	cleanups []func() error
}

// run starts everything, drives the demo to its end state, and cleans everything up when ctx
// ends (Ctrl-C) or, with exitWhenDone, at the end state. Cleanup errors are returned too.
func run(ctx context.Context, o options) (err error) {
	d, err := newDemo(o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	if err := d.setUp(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	final, err := d.watch(ctx)
	if err != nil || final == nil {
		return err
	}
	return d.conclude(ctx, final)
}

// newDemo prepares the output folder and sends every log there, as JSON: the terminal belongs
// to the table.
func newDemo(o options) (*demo, error) {
	outDir, err := filepath.Abs(o.outDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", outDir, err)
	}
	d := &demo{o: o, start: time.Now(), outDir: outDir, logPath: filepath.Join(outDir, "operator.log")}
	if d.logFile, err = os.Create(d.logPath); err != nil {
		return nil, fmt.Errorf("create the log file: %w", err)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(d.logFile)))
	d.log = ctrl.Log.WithName("demo")
	return d, nil
}

func (d *demo) say(format string, args ...any) {
	printf(d.o.out, "==> "+format+"\n", args...)
}

// close stops what was started, last started first, then closes the log.
func (d *demo) close() error {
	var err error
	if len(d.cleanups) > 0 {
		d.say("Stopping the operator, kube-apiserver, etcd and the emulator")
	}
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		err = errors.Join(err, d.cleanups[i]())
	}
	d.log.Info("Demo finished", "elapsed", time.Since(d.start).String(), "error", err)
	return errors.Join(err, d.logFile.Close())
}

// setUp starts the emulator, the control plane and the operator, and applies the objects.
func (d *demo) setUp(ctx context.Context) error {
	fleet, err := demoFleet()
	if err != nil {
		return err
	}
	if d.emu, err = ecsemu.New(fleet); err != nil {
		return err
	}
	if d.o.stopping > 0 && d.o.starting > 0 {
		d.emu.SetLifecycle(d.o.stopping, d.o.starting)
	}
	url, stopEmu, err := d.emu.Start(d.o.emulatorListen)
	if err != nil {
		return err
	}
	d.emuURL, d.account, d.before = url, fleet.Accounts[0], d.emu.Instances()
	d.cleanups = append(d.cleanups, stopEmu)
	d.say("ECS emulator: %d instances in %s at %s", len(d.before), demoRegion, url)
	d.log.Info("Emulator started", "url", url, "instances", len(d.before))

	d.say("Starting kube-apiserver and etcd (envtest, binaries from %s) and installing the CRD from %s",
		os.Getenv("KUBEBUILDER_ASSETS"), d.o.crdDir)
	if d.cp, err = startControlPlane(d.o.crdDir, d.outDir); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.cp.stop)
	d.say("Control plane up at %s (%s); kubeconfig: %s", d.cp.config.Host, time.Since(d.start).Round(time.Second), d.cp.kubeconfig)
	d.log.Info("Control plane started", "host", d.cp.config.Host, "kubeconfig", d.cp.kubeconfig)
	if ctx.Err() != nil {
		return nil
	}

	scheme, err := newScheme()
	if err != nil {
		return err
	}
	op, err := startOperator(ctx, d.cp.config, scheme, operatorOptions{
		endpoint: url, account: d.account, qps: 10, burst: 20, pollInterval: d.o.rebootPoll,
	})
	if err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, op.stop)
	d.say("Operator running in this process: the real reconciler and ECS client, --ecs-endpoint=%s; logs in %s", url, d.logPath)

	if d.c, err = client.New(d.cp.config, client.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("create a client: %w", err)
	}
	return d.apply(ctx)
}

// apply creates the demo's namespace, Secret and KeyPairDetachments.
func (d *demo) apply(ctx context.Context) error {
	objs := make([]*ecsv1alpha1.KeyPairDetachment, len(demoPlans))
	for i, p := range demoPlans {
		objs[i] = detachmentFor(p, d.before)
		objs[i].Spec.Mode = ecsv1alpha1.ModePlan
		d.names = append(d.names, p.name)
	}
	d.manifest = filepath.Join(d.outDir, "keypairdetachments.yaml")
	if err := applyDemoObjects(ctx, d.c, d.account, objs, d.manifest); err != nil {
		return err
	}
	d.say("Applied Secret %s/%s and two KeyPairDetachments of key %s, reboot enabled, spec.mode Plan (%s):",
		demoNamespace, demoSecret, demoKeyPair, d.manifest)
	for _, p := range demoPlans {
		printf(d.o.out, "      %-24s %s; maxConcurrent %d\n", p.name, p.story, p.maxConcurrent)
	}
	printf(d.o.out, "\n")
	return d.showPlans(ctx)
}

// watch shows the table until the end state. It returns nil objects when ctx ended first.
func (d *demo) watch(ctx context.Context) ([]*ecsv1alpha1.KeyPairDetachment, error) {
	watchCtx := ctx
	if d.o.exitWhenDone && d.o.timeout > 0 {
		var cancel context.CancelFunc
		watchCtx, cancel = context.WithTimeout(ctx, d.o.timeout)
		defer cancel()
	}
	applied := time.Now()
	final, err := watchUntilDone(watchCtx, d.c, d.names, d.emu, newProgress(d.o.out, d.o.tty), d.o.refresh)
	switch {
	case ctx.Err() != nil:
		printf(d.o.out, "\n")
		d.say("Interrupted before the end state")
		return nil, nil
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("the KeyPairDetachments did not reach their end state within %s; see %s", d.o.timeout, d.logPath)
	case err != nil:
		return nil, err
	}
	rollout := time.Since(applied).Round(time.Second)
	d.say("End state reached %s after the objects were applied (%s in all)", rollout, time.Since(d.start).Round(time.Second))
	d.log.Info("End state reached", "rollout", rollout.String(), "stats", d.emu.Stats())
	return final, nil
}

// conclude explains the end state, checks it, and then exits (exitWhenDone) or keeps running
// for kubectl until ctx ends.
func (d *demo) conclude(ctx context.Context, final []*ecsv1alpha1.KeyPairDetachment) error {
	printOutcome(d.o.out, final)
	facts := checkCloud(d.before, d.emu)
	unexpected := errors.Join(checkEndState(final), facts.err())
	if unexpected == nil {
		printf(d.o.out, "\n%s\n%s\n\n", lesson, facts)
	}
	rotation, err := d.rotate(ctx)
	if err != nil {
		return err
	}
	rotated, rerr := checkRotation(rotation, d.emu)
	if unexpected = errors.Join(unexpected, rerr); rerr == nil {
		printf(d.o.out, "%s\n", rotated)
	}
	info := usageInfo{kubeconfig: d.cp.kubeconfig, emulatorURL: d.emuURL, account: d.account.AccessKeyID,
		manifests: d.manifest, logFile: d.logPath}
	for _, obj := range final {
		if r := rowOf(obj); r.ready.Status == metav1.ConditionTrue {
			continue
		}
		path := filepath.Join(d.outDir, obj.Name+"-fixed.yaml")
		dropped, err := writeFixedManifest(path, obj)
		if err != nil {
			return err
		}
		info.fixed = append(info.fixed, fixedManifest{name: obj.Name, path: path, dropped: dropped})
	}
	if d.o.afterEnd != nil {
		s := &session{emulator: d.emu, emulatorURL: d.emuURL, kubeconfig: d.cp.kubeconfig, objects: final, rotation: rotation}
		if err := d.o.afterEnd(ctx, s); err != nil {
			return err
		}
	}
	if d.o.exitWhenDone {
		if unexpected != nil {
			return unexpected
		}
		d.say("Done (--exit-when-done)")
		return nil
	}
	printUsage(d.o.out, info)
	if unexpected != nil {
		printf(d.o.out, "\nWARNING: %v; see %s\n", unexpected, d.logPath)
	}
	printf(d.o.out, "\n")
	d.say("The demo keeps running; Ctrl-C stops it and cleans up. Changes to KeyPairDetachments show below.")
	followChanges(ctx, d.c, d.o.out, d.log, final)
	printf(d.o.out, "\n")
	return nil
}

// lesson sums up what the two objects teach.
const lesson = `What happened: retire-finance-key named only instances the operator can handle, so it is
Ready. retire-finance-key-cmdb named Windows hosts, bastions on another key and released IDs:
the operator detached and rebooted the 30 it could, and reports the rest as per-instance
discrepancies, so it ends Ready=False/PartiallyFailed with Stalled=True: a human must fix
spec.instanceIds.`

// checkEndState compares the end state with the one the demo fleet leads to.
func checkEndState(objs []*ecsv1alpha1.KeyPairDetachment) error {
	var errs []error
	for i, obj := range objs {
		r := rowOf(obj)
		ready := r.ready != nil && r.ready.Status == metav1.ConditionTrue
		if ready != demoPlans[i].wantReady {
			errs = append(errs, fmt.Errorf("%s ended Ready=%s", obj.Name, r.readyText()))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errUnexpected, errors.Join(errs...))
	}
	return nil
}
