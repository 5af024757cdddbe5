//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

const (
	// managerNamespace is where the manager would run in a cluster (kubebuilder's
	// <projectName>-system); its leader-election Lease lives there.
	managerNamespace = "ecs-keypair-operator-system"
	// managerUser is the identity the manager process authenticates as: a client certificate
	// whose name is the username of the manager's ServiceAccount, so the bindings below are the
	// ones a cluster install makes (subject kind ServiceAccount).
	managerServiceAccount = "ecs-keypair-operator-controller-manager"
	// clusterLeaseNamespace and clusterLeaseID name the Lease that every unscoped installation
	// contends for (main.go's default --cluster-lease-namespace and its Lease name).
	clusterLeaseNamespace = "kube-system"
	clusterLeaseID        = "ecs-keypair-operator-cluster.keypairs.dev"
	// leaderElectionID is the Lease name of a scoped installation, in its own namespace.
	leaderElectionID = "ecs-keypair-operator.keypairs.dev"
)

var (
	repoRoot string
	workDir  string

	managerBin  string
	emulatorBin string

	testEnv *envtest.Environment
	scheme  = runtime.NewScheme()
	// admin is the test's own client (system:masters); restricted is the manager's identity.
	admin, restricted client.Client
	managerKubeconfig string

	fleet *fleetPlan
	emu   *emulatorProcess

	suiteFailed bool
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end Suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(ecsv1alpha1.AddToScheme(scheme)).To(Succeed())

	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	// Not GinkgoT().TempDir(): the logs must survive a failed run (the path is printed).
	workDir, err = os.MkdirTemp("", "ecs-keypair-operator-e2e-")
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("Work directory (logs, fleet, kubeconfig): %s\n", workDir)

	By("building the manager (with -race) and the emulator")
	managerBin = filepath.Join(workDir, "manager")
	emulatorBin = filepath.Join(workDir, "ecs-emulator")
	goBuild(ctx, "-race", "-o", managerBin, ".")
	goBuild(ctx, "-o", emulatorBin, "./cmd/ecs-emulator")

	By("starting the control plane with the CRD from config/crd/bases")
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run `make test-e2e`, which builds the control plane")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("creating the manager's identity: a user with no groups, so only the bindings below apply")
	user, err := testEnv.AddUser(envtest.User{
		Name: fmt.Sprintf("system:serviceaccount:%s:%s", managerNamespace, managerServiceAccount),
	}, nil)
	Expect(err).NotTo(HaveOccurred())
	restrictedCfg := user.Config()
	restricted, err = client.New(restrictedCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	managerKubeconfig = filepath.Join(workDir, "manager.kubeconfig")
	Expect(writeKubeconfig(restrictedCfg, managerKubeconfig)).To(Succeed())

	By("writing the fleet (the samples' instances plus the rollout's) and starting the emulator")
	fleet, err = planFleet(filepath.Join(repoRoot, "config", "samples"))
	Expect(err).NotTo(HaveOccurred())
	fleetPath := filepath.Join(workDir, "fleet.yaml")
	Expect(fleet.write(fleetPath)).To(Succeed())
	emu, err = startEmulator(emulatorBin, fleetPath, filepath.Join(workDir, "emulator.log"))
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("Emulator at %s\n", emu.url)
})

var _ = ReportAfterEach(func(report SpecReport) {
	if report.Failed() {
		suiteFailed = true
	}
})

var _ = AfterSuite(func() {
	stopManager()
	if emu != nil {
		Expect(emu.stop()).To(Succeed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if workDir != "" && !suiteFailed {
		Expect(os.RemoveAll(workDir)).To(Succeed())
	}
})

// goBuild runs `go build` from the repository root.
func goBuild(ctx context.Context, args ...string) {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build %v:\n%s", args, out)
	GinkgoWriter.Printf("go build %v: %s\n", args, time.Since(start).Round(time.Millisecond))
}

// writeKubeconfig turns a client-certificate REST config into a kubeconfig file.
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["manager"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["manager@envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "manager"}
	kc.CurrentContext = "manager@envtest"
	return clientcmd.WriteToFile(*kc, path)
}
