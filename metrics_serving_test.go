package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// defaultMetrics are the flag defaults of main.go.
func defaultMetrics() metricsOptions {
	return metricsOptions{bindAddress: ":8443", secure: true, certName: "tls.crt", keyName: "tls.key"}
}

func nextProtos(t *testing.T, opts []func(*tls.Config)) []string {
	t.Helper()
	c := &tls.Config{NextProtos: []string{"h2"}}
	for _, o := range opts {
		o(c)
	}
	return c.NextProtos
}

func TestMetricsSecureByDefault(t *testing.T) {
	opts, err := defaultMetrics().serverOptions()
	if err != nil {
		t.Fatal(err)
	}
	if !opts.SecureServing || opts.FilterProvider == nil {
		t.Fatalf("SecureServing %v, FilterProvider set %v: want HTTPS with authentication and authorization",
			opts.SecureServing, opts.FilterProvider != nil)
	}
	if opts.BindAddress != ":8443" {
		t.Errorf("BindAddress %q", opts.BindAddress)
	}
	if opts.CertDir != "" {
		t.Errorf("CertDir %q without --metrics-cert-path", opts.CertDir)
	}
	if got := nextProtos(t, opts.TLSOpts); !slices.Equal(got, []string{"http/1.1"}) {
		t.Errorf("ALPN %v: HTTP/2 must be off by default", got)
	}
}

func TestMetricsHTTP2OnRequest(t *testing.T) {
	m := defaultMetrics()
	m.enableHTTP2 = true
	opts, err := m.serverOptions()
	if err != nil {
		t.Fatal(err)
	}
	if got := nextProtos(t, opts.TLSOpts); !slices.Contains(got, "h2") {
		t.Errorf("ALPN %v with --enable-http2", got)
	}
}

func TestMetricsPlainHTTPOnlyWhenAsked(t *testing.T) {
	m := defaultMetrics()
	m.secure = false
	opts, err := m.serverOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.SecureServing || opts.FilterProvider != nil {
		t.Fatalf("--metrics-secure=false: SecureServing %v, FilterProvider set %v", opts.SecureServing, opts.FilterProvider != nil)
	}

	m.certPath = t.TempDir()
	if _, err := m.serverOptions(); err == nil || !strings.Contains(err.Error(), "--metrics-secure") {
		t.Errorf("a certificate for plain HTTP: error %v, want one naming --metrics-secure", err)
	}
}

func TestMetricsDisabled(t *testing.T) {
	m := defaultMetrics()
	m.bindAddress = "0"
	m.certPath = filepath.Join(t.TempDir(), "absent")
	opts, err := m.serverOptions()
	if err != nil {
		t.Fatalf("disabled metrics must not look at the certificate: %v", err)
	}
	if opts.BindAddress != "0" || opts.SecureServing || opts.FilterProvider != nil {
		t.Errorf("disabled: %+v", opts)
	}
}

func TestMetricsCertPath(t *testing.T) {
	dir := t.TempDir()
	m := defaultMetrics()
	m.certPath = dir
	m.certName, m.keyName = "metrics.crt", "metrics.key"

	if _, err := m.serverOptions(); err == nil || !strings.Contains(err.Error(), "metrics.crt") {
		t.Fatalf("missing certificate: error %v, want one naming metrics.crt", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.crt"), []byte("cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.serverOptions(); err == nil || !strings.Contains(err.Error(), "metrics.key") {
		t.Fatalf("missing key: error %v, want one naming metrics.key", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.key"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := m.serverOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.CertDir != dir || opts.CertName != "metrics.crt" || opts.KeyName != "metrics.key" {
		t.Errorf("CertDir %q CertName %q KeyName %q", opts.CertDir, opts.CertName, opts.KeyName)
	}
}
