package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const (
	objects   = 10
	region    = "cn-hangzhou"
	keyPair   = "FinanceJoshuaV26"
	accessKey = "LTAI_BENCH"
	secretKey = "bench-secret"
)

// BenchmarkConverge detaches a key pair from N instances spread over 10 objects, with the
// manager's default client-side rate limit (--ecs-qps 10, --ecs-burst 20).
func BenchmarkConverge(b *testing.B) {
	env := startControlPlane(b)
	manager := buildManager(b)
	for _, total := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d", total), func(b *testing.B) {
			for range b.N {
				r := converge(b, env, manager, total)
				b.ReportMetric(float64(r.describes), "DescribeInstances")
				b.ReportMetric(float64(r.detaches), "DetachKeyPair")
				b.ReportMetric(float64(r.keyPairChecks), "DescribeKeyPairs")
				b.ReportMetric(r.ratio(), "ratio-to-minimum")
				b.ReportMetric(r.converge.Seconds(), "converge-s")
				b.ReportMetric(float64(r.peakRSSKiB)/1024, "manager-peak-MiB")
				b.ReportMetric(float64(len(r.retries)), "retried-passes")
				fmt.Printf("instances=%d objects=%d: DescribeInstances=%d DetachKeyPair=%d DescribeKeyPairs=%d "+
					"minimum=%d ratio=%.2f converge=%s manager peak RSS=%.1f MiB\n",
					total, objects, r.describes, r.detaches, r.keyPairChecks, r.minimum, r.ratio(),
					r.converge.Round(10*time.Millisecond), float64(r.peakRSSKiB)/1024)
				for _, line := range r.retries {
					fmt.Printf("  retried: %s\n", line)
				}
			}
		})
	}
}

type result struct {
	describes, detaches, keyPairChecks, minimum int
	converge                                    time.Duration
	peakRSSKiB                                  int
	// retries are passes the manager logged as failed and retried; they explain calls above
	// the minimum.
	retries []string
}

// ratio compares the describes and detaches made with the arithmetic minimum,
// ⌈n/100⌉ describes + ⌈a/50⌉ detaches per object.
func (r result) ratio() float64 { return float64(r.describes+r.detaches) / float64(r.minimum) }

type controlPlane struct {
	kubeconfig string
	client     client.Client
}

func startControlPlane(b *testing.B) controlPlane {
	b.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		b.Fatal("KUBEBUILDER_ASSETS is not set: run `make bench`, which builds or finds the control plane")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		b.Fatalf("starting the control plane: %v", err)
	}
	b.Cleanup(func() { _ = env.Stop() })
	admin, err := env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		b.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	if err := ecsv1alpha1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	return controlPlane{kubeconfig: path, client: c}
}

func buildManager(b *testing.B) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), "manager")
	build := exec.Command("go", "build", "-o", out, ".")
	build.Dir = filepath.Join("..", "..")
	if msg, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the manager: %v\n%s", err, msg)
	}
	return out
}

func converge(b *testing.B, env controlPlane, manager string, total int) result {
	b.Helper()
	ctx := context.Background()
	emu, err := ecsemu.New(ecsemu.Fleet{
		Accounts: []ecsemu.Account{{AccessKeyID: accessKey, AccessKeySecret: secretKey}},
		KeyPairs: []ecsemu.KeyPair{{RegionID: region, KeyPairName: keyPair}},
		Generate: []ecsemu.GenerateSpec{{Count: total, Prefix: "i-bench", RegionID: region, OSType: "linux",
			Status: "Running", KeyPairName: keyPair}},
	})
	if err != nil {
		b.Fatal(err)
	}
	url, stopEmulator, err := emu.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stopEmulator() }()

	logs, err := os.Create(filepath.Join(b.TempDir(), "manager.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = logs.Close() }()
	cmd := exec.Command(manager, "--kubeconfig", env.kubeconfig, "--ecs-endpoint", url,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	cmd.Env = append(os.Environ(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+accessKey, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+secretKey)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}
	if err := env.client.Create(ctx, ns); err != nil {
		b.Fatal(err)
	}
	width := len(strconv.Itoa(total))
	perObject := total / objects
	minimum := 0
	start := time.Now()
	for o := range objects {
		ids := make([]string, perObject)
		for n := range ids {
			ids[n] = fmt.Sprintf("i-bench%0*d", width, o*perObject+n+1)
		}
		minimum += (perObject+99)/100 + (perObject+49)/50
		obj := &ecsv1alpha1.KeyPairDetachment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("part-%02d", o), Namespace: ns.Name},
			Spec:       ecsv1alpha1.KeyPairDetachmentSpec{RegionID: region, KeyPairName: keyPair, InstanceIDs: ids},
		}
		if err := env.client.Create(ctx, obj); err != nil {
			b.Fatal(err)
		}
	}
	waitAllReady(b, env.client, ns.Name, logs.Name())
	elapsed := time.Since(start)
	retries := retriedPasses(b, logs.Name())
	peak := peakRSSKiB(b, cmd.Process.Pid)
	stats := emu.Stats()
	return result{
		describes: stats.Calls["DescribeInstances"], detaches: stats.Calls["DetachKeyPair"],
		keyPairChecks: stats.Calls["DescribeKeyPairs"], minimum: minimum, converge: elapsed, peakRSSKiB: peak,
		retries: retries,
	}
}

func waitAllReady(b *testing.B, c client.Client, namespace, logPath string) {
	b.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			list := &ecsv1alpha1.KeyPairDetachmentList{}
			if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
				return false, err
			}
			ready := 0
			for i := range list.Items {
				if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, ecsv1alpha1.ConditionReady) {
					ready++
				}
			}
			return ready == objects, nil
		})
	if err != nil {
		logs, _ := os.ReadFile(logPath)
		b.Fatalf("objects not Ready: %v; manager log:\n%s", err, logs)
	}
}

// retriedPasses returns the manager's log lines about passes that failed and were retried.
func retriedPasses(b *testing.B, logPath string) []string {
	b.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "retrying") {
			out = append(out, line)
		}
	}
	return out
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
