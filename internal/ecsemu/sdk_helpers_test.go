package ecsemu

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

const (
	testRegion = "cn-hangzhou"
	testKey    = "FinanceJoshuaV26"
	otherKey   = "OpsShared2024"
	testAK     = "LTAI_TEST"
	testSecret = "test-secret"
	stsAK      = "STS.TEST"
	stsSecret  = "sts-secret"
	stsToken   = "sts-token-123"
	// genPrefix names testFleet's generated instances.
	genPrefix = "i-gen"
)

// testFleet is a small fleet covering every kind of instance the actions distinguish.
func testFleet() Fleet {
	return Fleet{
		Accounts: []Account{
			{AccessKeyID: testAK, AccessKeySecret: testSecret},
			{AccessKeyID: stsAK, AccessKeySecret: stsSecret, SecurityToken: stsToken},
		},
		KeyPairs: []KeyPair{
			{RegionID: testRegion, KeyPairName: testKey},
			{RegionID: testRegion, KeyPairName: "FinanceOther"},
			{RegionID: "cn-beijing", KeyPairName: "BeijingKey"},
		},
		Instances: []InstanceSpec{
			{InstanceID: "i-lin1", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning, KeyPairName: testKey},
			{InstanceID: "i-lin2", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning, KeyPairName: testKey},
			{InstanceID: "i-lin3", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning, KeyPairName: testKey},
			{InstanceID: "i-stop", RegionID: testRegion, OSType: OSLinux, Status: StatusStopped, KeyPairName: testKey},
			{InstanceID: "i-win", RegionID: testRegion, OSType: OSWindows, Status: StatusRunning, KeyPairName: testKey},
			{InstanceID: "i-other", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning, KeyPairName: otherKey},
			{InstanceID: "i-nokey", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning},
			{InstanceID: "i-locked", RegionID: testRegion, OSType: OSLinux, Status: StatusRunning, KeyPairName: testKey, LockReason: "security"},
			{InstanceID: "i-bj", RegionID: "cn-beijing", OSType: OSLinux, Status: StatusRunning, KeyPairName: "BeijingKey"},
		},
		Generate: []GenerateSpec{
			{Count: 150, Prefix: genPrefix, RegionID: testRegion, KeyPairName: testKey},
		},
	}
}

// startEmulator serves a new emulator over loopback HTTP and returns it with its host:port.
func startEmulator(t testing.TB, f Fleet, opts ...Option) (*Emulator, string) {
	t.Helper()
	e, err := New(f, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return e, strings.TrimPrefix(srv.URL, "http://")
}

// clientConfig describes how a test's SDK client signs and what it does to requests after
// signing (tamper), which is how tests forge requests the SDK would never send.
type clientConfig struct {
	ak, secret, token string
	v2                bool
	tamper            func(*http.Request)
	timeout           time.Duration
}

func defaultClient() clientConfig {
	return clientConfig{ak: testAK, secret: testSecret}
}

// tamperingClient is the SDK's HTTP client hook: its own transport per SDK client (sharing
// tea's pooled client trips the race detector) plus an optional tamper step.
type tamperingClient struct {
	c      *http.Client
	tamper func(*http.Request)
}

func (h *tamperingClient) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	if h.tamper != nil {
		h.tamper(req)
	}
	return h.c.Do(req)
}

func newClient(t testing.TB, endpoint string, cc clientConfig) *ecs.Client {
	t.Helper()
	timeout := cc.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(cc.ak),
		AccessKeySecret: dara.String(cc.secret),
		Endpoint:        dara.String(endpoint),
		Protocol:        dara.String("http"),
		RegionId:        dara.String(testRegion),
		ReadTimeout:     dara.Int(int(timeout / time.Millisecond)),
		ConnectTimeout:  dara.Int(int(timeout / time.Millisecond)),
		HttpClient:      &tamperingClient{c: &http.Client{Transport: tr, Timeout: timeout}, tamper: cc.tamper},
	}
	if cc.token != "" {
		cfg.SecurityToken = dara.String(cc.token)
	}
	if cc.v2 {
		cfg.SignatureAlgorithm = dara.String("v2")
	}
	c, err := ecs.NewClient(cfg)
	if err != nil {
		t.Fatalf("ecs.NewClient: %v", err)
	}
	return c
}

func rt() *dara.RuntimeOptions { return &dara.RuntimeOptions{} }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantSDKError asserts err is the SDK's error for an ECS error answer with the given code and
// status; sdkError does the same and returns that error for further checks.
func wantSDKError(t testing.TB, err error, code string, status int) {
	t.Helper()
	_ = sdkError(t, err, code, status) // sdkError has already failed the test on any mismatch
}

// sdkError asserts err is the SDK's error for an ECS error answer with the given code and status.
func sdkError(t testing.TB, err error, code string, status int) *tea.SDKError {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("want *tea.SDKError %s, got %T: %v", code, err, err)
	}
	if got := tea.StringValue(se.Code); got != code {
		t.Fatalf("want code %s, got %s (%v)", code, got, err)
	}
	if got := tea.IntValue(se.StatusCode); got != status {
		t.Fatalf("code %s: want HTTP %d, got %d", code, status, got)
	}
	return se
}

// closeBody closes an HTTP response body and fails the test if that fails; defer it.
func closeBody(t testing.TB, body io.Closer) {
	t.Helper()
	if err := body.Close(); err != nil {
		t.Errorf("close response body: %v", err)
	}
}

func mustNoErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func jsonIDs(ids ...string) *string {
	return dara.String(`["` + strings.Join(ids, `","`) + `"]`)
}

// genIDs names n of testFleet's generated instances, starting with number from.
func genIDs(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = generatedID(genPrefix, 3, from+i)
	}
	return out
}

func stringPtrs(ss []string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = dara.String(ss[i])
	}
	return out
}
