package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// TestDemoReachesEndState runs the whole demo in-process, as `make demo --exit-when-done`
// would, with faster reboots, and checks its end state from the API server, the kubeconfig it
// writes and the emulator's counters.
func TestDemoReachesEndState(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test` (it builds kube-apiserver and etcd with " +
			"hack/envtest-assets.sh), or set it to the folder that script prints")
	}
	before := fleetAtStart(t)

	var (
		out           bytes.Buffer
		ended         *session
		stats         ecsemu.Stats
		viaKubeconfig []string
	)
	outDir := t.TempDir()
	o := options{
		crdDir: filepath.Join("..", "..", "config", "crd", "bases"), outDir: outDir,
		emulatorListen: "127.0.0.1:0", exitWhenDone: true, timeout: 60 * time.Second,
		out: &out, refresh: 200 * time.Millisecond, rebootPoll: 200 * time.Millisecond,
		stopping: 100 * time.Millisecond, starting: 200 * time.Millisecond,
		afterEnd: func(ctx context.Context, s *session) error {
			ended, stats = s, s.emulator.Stats()
			var err error
			viaKubeconfig, err = listWithKubeconfig(ctx, s.kubeconfig)
			return err
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	started := time.Now()
	if err := run(ctx, o); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	t.Logf("the demo took %s:\n%s", time.Since(started).Round(time.Second), out.String())
	if ended == nil {
		t.Fatal("the end-state hook never ran")
	}

	t.Run("objects end as the fleet dictates", func(t *testing.T) { checkObjects(t, ended.objects) })

	t.Run("the rotation puts the new key on the bastions", func(t *testing.T) {
		if ended.rotation == nil || ended.rotation.Status.Summary != (ecsv1alpha1.AttachmentSummary{Total: 8, Attached: 8, Rebooted: 8}) {
			t.Fatalf("rotation at the end: %+v", ended.rotation)
		}
	})

	t.Run("every Running Linux instance carrying the key was rebooted exactly once, nothing else", func(t *testing.T) {
		checkReboots(t, before, stats)
	})

	t.Run("the kubeconfig works and is removed at the end", func(t *testing.T) {
		if got := strings.Join(viaKubeconfig, ","); got != "retire-finance-key,retire-finance-key-cmdb" {
			t.Errorf("objects listed with the kubeconfig: %q", got)
		}
		if _, err := os.Stat(ended.kubeconfig); !os.IsNotExist(err) {
			t.Errorf("kubeconfig %s after cleanup: %v, want it removed", ended.kubeconfig, err)
		}
	})

	t.Run("the output explains the outcome", func(t *testing.T) { checkOutput(t, out.String()) })

	t.Run("the fixed manifest keeps only the instances that did not fail", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(outDir, "retire-finance-key-cmdb-fixed.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		fixed := string(data)
		if n := strings.Count(fixed, "- i-bp1api"); n != 30 || strings.Contains(fixed, "i-bp1win") ||
			strings.Contains(fixed, "i-bp1ops") || strings.Contains(fixed, "i-bp1gone") {
			t.Errorf("fixed manifest has %d i-bp1api IDs, want 30 and nothing else:\n%s", n, fixed)
		}
	})
}

// checkObjects checks the end state through the API server.
func checkObjects(t *testing.T, ended []*ecsv1alpha1.KeyPairDetachment) {
	objs := map[string]*ecsv1alpha1.KeyPairDetachment{}
	for _, obj := range ended {
		objs[obj.Name] = obj
	}
	clean, cmdb := objs["retire-finance-key"], objs["retire-finance-key-cmdb"]
	if clean == nil || cmdb == nil {
		t.Fatalf("objects at the end: %v", objs)
	}
	wantCondition(t, clean, ecsv1alpha1.ConditionReady, "True/Ready")
	wantCondition(t, clean, ecsv1alpha1.ConditionStalled, "False/Progressing")
	wantCondition(t, cmdb, ecsv1alpha1.ConditionReady, "False/PartiallyFailed")
	wantCondition(t, cmdb, ecsv1alpha1.ConditionStalled, "True/PartiallyFailed")
	wantSummary(t, clean, ecsv1alpha1.Summary{Total: 280, Detached: 280, Rebooted: 240})
	wantSummary(t, cmdb, ecsv1alpha1.Summary{Total: 52, Detached: 30, Rebooted: 30, Failed: 22})
	wantReasons(t, clean, ecsv1alpha1.ConditionDetached, map[string]int{"Detached": 260, "NotAttached": 20})
	wantReasons(t, clean, ecsv1alpha1.ConditionRebooted, map[string]int{"Rebooted": 240, "InstanceStopped": 20, "NotRequired": 20})
	wantReasons(t, cmdb, ecsv1alpha1.ConditionDetached,
		map[string]int{"Detached": 30, "WindowsInstance": 12, "KeyPairMismatch": 8, "InstanceNotFound": 2})
	wantReasons(t, cmdb, ecsv1alpha1.ConditionRebooted, map[string]int{"Rebooted": 30, "NotRequired": 22})
}

// checkReboots checks the cloud side through the emulator's counters.
func checkReboots(t *testing.T, before []ecsemu.Instance, stats ecsemu.Stats) {
	want := 0
	for _, in := range before {
		n := stats.Reboots[in.InstanceID]
		// The detachments reboot the Running Linux instances on their key; the rotation that
		// follows, the bastions on the ops key.
		if in.OSType == ecsemu.OSLinux && in.Status == ecsemu.StatusRunning &&
			(in.KeyPairName == demoKeyPair || in.KeyPairName == rotationOldKey) {
			want++
			if n != 1 {
				t.Errorf("%s rebooted %d times, want 1", in.InstanceID, n)
			}
		} else if n != 0 {
			t.Errorf("%s (%s, %s, key %q) rebooted %d times, want 0", in.InstanceID, in.OSType, in.Status, in.KeyPairName, n)
		}
	}
	if want != 278 || len(stats.Reboots) != want {
		t.Errorf("%d instances rebooted, %d eligible; want 278 of each", len(stats.Reboots), want)
	}
	// Two objects, maxConcurrent 20 and 10.
	if stats.MaxConcurrentReboots > 30 {
		t.Errorf("up to %d reboots at once, want at most 30", stats.MaxConcurrentReboots)
	}
	if stats.ForceReboots != 0 {
		t.Errorf("%d forced reboots, want graceful ones only", stats.ForceReboots)
	}
}

// checkOutput checks what a user reads.
func checkOutput(t *testing.T, out string) {
	for _, want := range []string{
		"Plans (spec.mode: Plan): ECS was observed, nothing changed (0 DetachKeyPair calls, 0 reboots so far)",
		"retire-finance-key       detach 260 (6 calls), reboot 240 in 12 waves",
		"retire-finance-key-cmdb  detach 30 (1 call), reboot 30 in 3 waves, 22 left alone",
		"retire-finance-key: pending", // a progress line (not a terminal: one line per change)
		"platform/retire-finance-key: Ready=True/Ready",
		"platform/retire-finance-key-cmdb: Ready=False/PartiallyFailed, Stalled",
		"WindowsInstance", "KeyPairMismatch", "InstanceNotFound", "InstanceStopped",
		"The emulator confirms: 270 instances rebooted, each exactly once",
		"Rotating a key: KeyPairAttachment rotate-bastion-key puts OpsBastion2026 on the 8 bastions",
		"platform/rotate-bastion-key: Ready=True: 8 of 8 attached, 8 rebooted",
		"The emulator confirms: the 8 bastions carry OpsBastion2026, each rebooted once, in 1 AttachKeyPair call(s).",
		"Done (--exit-when-done)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("output carries terminal escapes although it is not a terminal")
	}
}

// listWithKubeconfig lists the demo's objects the way a kubectl user would reach them.
func listWithKubeconfig(ctx context.Context, path string) ([]string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	var list ecsv1alpha1.KeyPairDetachmentList
	if err := c.List(ctx, &list, client.InNamespace(demoNamespace)); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for _, item := range list.Items {
		names = append(names, item.Name)
	}
	return names, nil
}

// fleetAtStart is the embedded fleet as the emulator starts it.
func fleetAtStart(t *testing.T) []ecsemu.Instance {
	t.Helper()
	fleet, err := demoFleet()
	if err != nil {
		t.Fatal(err)
	}
	emu, err := ecsemu.New(fleet)
	if err != nil {
		t.Fatal(err)
	}
	return emu.Instances()
}

func wantCondition(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, condType, want string) {
	t.Helper()
	c := meta.FindStatusCondition(obj.Status.Conditions, condType)
	got := "<none>"
	if c != nil {
		got = string(c.Status) + "/" + c.Reason
	}
	if got != want {
		t.Errorf("%s: %s is %s, want %s", obj.Name, condType, got, want)
	}
	if obj.Status.ObservedGeneration != obj.Generation {
		t.Errorf("%s: observedGeneration %d, generation %d", obj.Name, obj.Status.ObservedGeneration, obj.Generation)
	}
}

func wantSummary(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, want ecsv1alpha1.Summary) {
	t.Helper()
	if obj.Status.Summary != want {
		t.Errorf("%s: summary %+v, want %+v", obj.Name, obj.Status.Summary, want)
	}
}

func wantReasons(t *testing.T, obj *ecsv1alpha1.KeyPairDetachment, condType string, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, in := range obj.Status.Instances {
		if c := ecsv1alpha1.FindInstanceCondition(in.Conditions, condType); c != nil {
			got[c.Reason]++
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %s reasons %v, want %v", obj.Name, condType, got, want)
		return
	}
	for reason, n := range want {
		if got[reason] != n {
			t.Errorf("%s: %s reasons %v, want %v", obj.Name, condType, got, want)
			return
		}
	}
}

// TestPrintUsage checks the help printed once the demo waits for Ctrl-C.
func TestPrintUsage(t *testing.T) {
	var out bytes.Buffer
	printUsage(&out, usageInfo{
		kubeconfig: "/x/bin/demo/kubeconfig", emulatorURL: "http://127.0.0.1:1234", account: "LTAI_DEMO",
		manifests: "/x/bin/demo/keypairdetachments.yaml", logFile: "/x/bin/demo/operator.log",
		fixed: []fixedManifest{{name: "retire-finance-key-cmdb", path: "/x/bin/demo/retire-finance-key-cmdb-fixed.yaml", dropped: 22}},
	})
	for _, want := range []string{
		"export KUBECONFIG=/x/bin/demo/kubeconfig",
		"kubectl get kpd -A",
		"kubectl replace -f /x/bin/demo/retire-finance-key-cmdb-fixed.yaml",
		"without its 22 failed IDs",
		"curl -s http://127.0.0.1:1234/_emulator/stats",
		"curl -s http://127.0.0.1:1234/_emulator/instances",
		"http://127.0.0.1:1234/_emulator/faults",
		"/x/bin/demo/operator.log",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}
