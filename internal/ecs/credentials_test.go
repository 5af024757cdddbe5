package ecs

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials/providers"
)

// envMap is a fake environment; tests never read the process's.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func tokenFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("eyJhbGciOi.fake.token"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAmbientIdentity(t *testing.T) {
	tok := tokenFile(t)
	rrsa := map[string]string{
		EnvRoleARN:         "acs:ram::123:role/ecs-keypair-operator",
		EnvOIDCProviderARN: "acs:ram::123:oidc-provider/ack-rrsa-c1",
		EnvOIDCTokenFile:   tok,
	}
	cases := []struct {
		name      string
		env       map[string]string
		wantNil   bool
		wantKey   string
		wantType  string
		wantToken string
		wantErr   bool
	}{
		{name: "nothing configured", env: nil, wantNil: true},
		{name: "static", env: map[string]string{EnvAccessKeyID: "LTAI_ENV", EnvAccessKeySecret: "env-secret"},
			wantKey: "ak:LTAI_ENV", wantType: "access_key"},
		{name: "static sts", env: map[string]string{EnvAccessKeyID: "STS.X", EnvAccessKeySecret: "s", EnvSecurityToken: "tok"},
			wantKey: "ak:STS.X", wantType: "sts", wantToken: "tok"},
		{name: "static wins over rrsa", env: merge(rrsa, map[string]string{EnvAccessKeyID: "LTAI_ENV", EnvAccessKeySecret: "s"}),
			wantKey: "ak:LTAI_ENV", wantType: "access_key"},
		{name: "key id without secret", env: map[string]string{EnvAccessKeyID: "LTAI_ENV"}, wantErr: true},
		{name: "secret without key id", env: map[string]string{EnvAccessKeySecret: "s"}, wantErr: true},
		{name: "rrsa", env: rrsa, wantKey: "role:acs:ram::123:role/ecs-keypair-operator", wantType: "oidc_role_arn"},
		{name: "rrsa without token file", env: merge(rrsa, map[string]string{EnvOIDCTokenFile: ""}), wantErr: true},
		{name: "rrsa without provider arn", env: merge(rrsa, map[string]string{EnvOIDCProviderARN: ""}), wantErr: true},
		{name: "rrsa token file missing", env: merge(rrsa, map[string]string{EnvOIDCTokenFile: tok + ".missing"}), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ambientIdentity(envMap(tc.env), time.Second)
			if tc.wantErr {
				if err == nil || Classify(err) != ClassCredentials {
					t.Fatalf("err = %v (class %v), want a Credentials error", err, Classify(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if id != nil {
					t.Fatalf("identity = %+v, want none", id)
				}
				return
			}
			if id.limitKey != tc.wantKey {
				t.Errorf("limitKey = %q, want %q", id.limitKey, tc.wantKey)
			}
			if got := *id.credential.GetType(); got != tc.wantType {
				t.Errorf("type = %q, want %q", got, tc.wantType)
			}
			if strings.Contains(id.describe, "secret") && tc.wantType != "oidc_role_arn" {
				t.Errorf("describe %q mentions the secret", id.describe)
			}
			if tc.wantType == "oidc_role_arn" {
				return // GetCredential would ask STS
			}
			cm, err := id.credential.GetCredential()
			if err != nil {
				t.Fatal(err)
			}
			if *cm.AccessKeyId != tc.env[EnvAccessKeyID] || *cm.SecurityToken != tc.wantToken {
				t.Errorf("credential = %s", cm)
			}
		})
	}
}

func TestForRegionWithoutIdentityFailsClosed(t *testing.T) {
	srv := newFakeECS(t, nil)
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Identity(); !strings.HasPrefix(got, "none") {
		t.Errorf("Identity() = %q", got)
	}
	_, err = f.ForRegion(context.Background(), "cn-hangzhou", nil)
	if Classify(err) != ClassCredentials || ErrorCode(err) != CodeNoIdentity {
		t.Fatalf("ForRegion(nil creds) = %v (class %v), want NoIdentity", err, Classify(err))
	}
	for _, bad := range []*Credentials{{AccessKeyID: "LTAI"}, {AccessKeySecret: "s"}} {
		if _, err := f.ForRegion(context.Background(), "cn-hangzhou", bad); Classify(err) != ClassCredentials {
			t.Errorf("ForRegion(%v) = %v, want a Credentials error", bad, err)
		}
	}
	// A half-configured environment is reported when used, not at construction.
	f, err = NewFactory(FactoryOptions{Endpoint: srv.URL(), Env: envMap(map[string]string{EnvRoleARN: "acs:ram::1:role/x"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ForRegion(context.Background(), "cn-hangzhou", nil); Classify(err) != ClassCredentials {
		t.Errorf("half RRSA: %v", err)
	}
	if n := srv.total(); n != 0 {
		t.Errorf("%d requests reached ECS", n)
	}
}

func TestSecretCredentialsBeatEnvironment(t *testing.T) {
	srv := newFakeECS(t, nil)
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), Env: envMap(map[string]string{
		EnvAccessKeyID: "LTAI_MANAGER", EnvAccessKeySecret: "manager-secret"})})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		creds *Credentials
		ak    string
	}{
		{&Credentials{AccessKeyID: "LTAI_SECRET", AccessKeySecret: "object-secret"}, "LTAI_SECRET"},
		{nil, "LTAI_MANAGER"},
	} {
		c, err := f.ForRegion(context.Background(), "cn-hangzhou", tc.creds)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.KeyPairExists(context.Background(), "kp1"); err != nil {
			t.Fatal(err)
		}
		auth := srv.last().header.Get("Authorization")
		if !strings.HasPrefix(auth, "ACS3-HMAC-SHA256 Credential="+tc.ak+",") {
			t.Errorf("Authorization = %q, want credential %s", auth, tc.ak)
		}
	}
}

type fakeProvider struct {
	inFlight, maxInFlight, calls atomic.Int32
	err                          error
	// entered and release, when set, hold each call inside the provider until the test lets it
	// go, so that a second caller getting in alongside is seen rather than left to timing.
	entered, release chan struct{}
}

func (p *fakeProvider) GetCredentials() (*providers.Credentials, error) {
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		m := p.maxInFlight.Load()
		if n <= m || p.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	p.calls.Add(1)
	if p.entered != nil {
		p.entered <- struct{}{}
		<-p.release
	}
	if p.err != nil {
		return nil, p.err
	}
	return &providers.Credentials{AccessKeyId: "STS.A", AccessKeySecret: "s", SecurityToken: "t"}, nil
}

func (p *fakeProvider) GetProviderName() string { return "fake" }

func TestSerialProvider(t *testing.T) {
	fp := &fakeProvider{entered: make(chan struct{}), release: make(chan struct{})}
	sp := &serialProvider{next: fp}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := sp.GetCredentials(); err != nil {
				t.Error(err)
			}
		}()
	}
	for n := range 8 {
		<-fp.entered
		// An unserialised provider lets the next caller in within microseconds; the bound
		// only ends the wait when the serialisation holds.
		select {
		case <-fp.entered:
			t.Fatalf("a caller entered while caller %d held the provider", n+1)
		case <-time.After(50 * time.Millisecond):
		}
		fp.release <- struct{}{}
	}
	wg.Wait()
	if fp.maxInFlight.Load() != 1 || fp.calls.Load() != 8 {
		t.Errorf("max in flight %d, calls %d", fp.maxInFlight.Load(), fp.calls.Load())
	}

	_, err := (&serialProvider{next: &fakeProvider{err: errors.New("get session token failed: {\"Code\":\"AuthenticationFail.OIDCToken.Invalid\"}")}}).GetCredentials()
	if Classify(err) != ClassCredentials || ErrorCode(err) != CodeCredentialsUnavailable {
		t.Errorf("STS refusal: %v (class %v)", err, Classify(err))
	}
	_, err = (&serialProvider{next: &fakeProvider{err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}}).GetCredentials()
	if Classify(err) != ClassRetryable {
		t.Errorf("STS unreachable: %v (class %v)", err, Classify(err))
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
