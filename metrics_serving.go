package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsOptions are the flags of the metrics endpoint (kubebuilder's names and defaults).
type metricsOptions struct {
	bindAddress string
	secure      bool
	certPath    string
	certName    string
	keyName     string
	enableHTTP2 bool
}

// serverOptions turns the flags into the manager's metrics server. Secure serving asks the API
// server about every scrape (TokenReview, then SubjectAccessReview for get on the path), so a
// scraper needs a token bound to the metrics-reader ClusterRole, and the manager needs
// metrics-auth-role to ask.
func (m metricsOptions) serverOptions() (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: m.bindAddress}
	if m.bindAddress == "0" {
		return opts, nil
	}
	log := ctrl.Log.WithName("setup")
	if !m.secure {
		if m.certPath != "" {
			return opts, fmt.Errorf("--metrics-cert-path needs --metrics-secure")
		}
		log.Info("Serving metrics over plain HTTP without authentication: anyone who reaches the port reads them",
			"address", m.bindAddress)
		return opts, nil
	}
	opts.SecureServing = true
	opts.FilterProvider = withTokenReviewAuth
	if !m.enableHTTP2 {
		opts.TLSOpts = append(opts.TLSOpts, disableHTTP2)
	}
	if m.certPath == "" {
		log.Info("Serving metrics over HTTPS with a self-signed certificate", "address", m.bindAddress)
		return opts, nil
	}
	// controller-runtime falls back to a self-signed certificate when the files are missing; a
	// typo in a mount path must stop the manager instead of quietly changing what scrapers see.
	for _, name := range []string{m.certName, m.keyName} {
		if _, err := os.Stat(filepath.Join(m.certPath, name)); err != nil {
			return opts, fmt.Errorf("--metrics-cert-path: %w", err)
		}
	}
	opts.CertDir, opts.CertName, opts.KeyName = m.certPath, m.certName, m.keyName
	log.Info("Serving metrics over HTTPS with the given certificate", "address", m.bindAddress,
		"certificate", filepath.Join(m.certPath, m.certName))
	return opts, nil
}

// disableHTTP2 offers HTTP/1.1 only: HTTP/2's stream cancellation and rapid reset flaws
// (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8) let one client exhaust the server.
func disableHTTP2(c *tls.Config) {
	c.NextProtos = []string{"http/1.1"}
}
