package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// controlPlane is a real kube-apiserver and etcd (envtest) with the CRDs installed, and a
// kubeconfig for the user.
type controlPlane struct {
	env        *envtest.Environment
	config     *rest.Config
	kubeconfig string
}

// startControlPlane starts the binaries found in KUBEBUILDER_ASSETS (make demo sets it, as make
// test does) and writes an admin kubeconfig into outDir.
func startControlPlane(crdDir, outDir string) (*controlPlane, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`, which builds kube-apiserver " +
			"and etcd with hack/envtest-assets.sh, or point it at a folder holding both binaries")
	}
	if _, err := os.Stat(crdDir); err != nil {
		return nil, fmt.Errorf("CRD folder (--crd-dir): %w", err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	cp := &controlPlane{env: env, config: cfg, kubeconfig: filepath.Join(outDir, "kubeconfig")}
	if err := cp.writeKubeconfig(); err != nil {
		return nil, errors.Join(err, cp.stop())
	}
	return cp, nil
}

// writeKubeconfig writes the credentials of a user in system:masters, as kubectl wants them.
func (cp *controlPlane) writeKubeconfig() error {
	user, err := cp.env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add the demo-admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("build the kubeconfig: %w", err)
	}
	if err := os.WriteFile(cp.kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	return nil
}

// stop stops the API server and etcd and removes their data; the kubeconfig goes with them.
func (cp *controlPlane) stop() error {
	err := cp.env.Stop()
	if rmErr := os.Remove(cp.kubeconfig); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	if err != nil {
		return fmt.Errorf("stop the control plane: %w", err)
	}
	return nil
}
