package ecsemu

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

func TestThrottlingPerAccessKeyRegionAction(t *testing.T) {
	clock := NewManualClock(fixedStart)
	f := testFleet()
	f.Throttle = Throttle{QPS: 1, Burst: 2}
	e, ep := startEmulator(t, f, WithClock(clock))
	c := newClient(t, ep, defaultClient())
	describe := func(cl *ecs.Client, region string) error {
		_, err := cl.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{RegionId: dara.String(region)}, rt())
		return err
	}
	mustNoErr(t, describe(c, testRegion), "call 1")
	mustNoErr(t, describe(c, testRegion), "call 2")
	wantSDKError(t, describe(c, testRegion), "Throttling.User", http.StatusBadRequest)

	// Other buckets are untouched: another region, another action, another AccessKey.
	mustNoErr(t, describe(c, "cn-beijing"), "other region")
	_, err := c.DescribeKeyPairsWithContext(ctx(t), &ecs.DescribeKeyPairsRequest{RegionId: dara.String(testRegion)}, rt())
	mustNoErr(t, err, "other action")
	mustNoErr(t, describe(newClient(t, ep, clientConfig{ak: stsAK, secret: stsSecret, token: stsToken}), testRegion), "other key")

	clock.Advance(time.Second)
	mustNoErr(t, describe(c, testRegion), "after refill")
	wantSDKError(t, describe(c, testRegion), "Throttling.User", http.StatusBadRequest)

	s := e.Stats()
	if s.Calls["DescribeInstances"] != 7 || s.Errors["Throttling.User"] != 2 {
		t.Errorf("stats = calls %v errors %v", s.Calls, s.Errors)
	}
	e.SetThrottle(Throttle{})
	mustNoErr(t, describe(c, testRegion), "unthrottled")
}

func TestInjectedFaultsAsTheSDKSeesThem(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())

	t.Run("throttleRate", func(t *testing.T) {
		mustNoErr(t, e.SetFaults(Faults{ThrottleRate: 1}), "SetFaults")
		wantSDKError(t, describeLin1(t, c), "Throttling.User", http.StatusBadRequest)
	})

	t.Run("errorRate gives both 5xx kinds", func(t *testing.T) {
		mustNoErr(t, e.SetFaults(Faults{ErrorRate: 1}), "SetFaults")
		seen := map[string]bool{}
		for i := 0; i < 60 && len(seen) < 2; i++ {
			err := describeLin1(t, c)
			var se *tea.SDKError
			if !errors.As(err, &se) {
				t.Fatalf("want SDK error, got %v", err)
			}
			switch code, status := tea.StringValue(se.Code), tea.IntValue(se.StatusCode); {
			case code == "ServiceUnavailable" && status == http.StatusServiceUnavailable,
				code == "InternalError" && status == http.StatusInternalServerError:
				seen[code] = true
			default:
				t.Fatalf("unexpected %d %s", status, code)
			}
		}
		if len(seen) != 2 {
			t.Errorf("saw only %v", seen)
		}
	})

	t.Run("dropRate is a transport error", func(t *testing.T) {
		mustNoErr(t, e.SetFaults(Faults{DropRate: 1}), "SetFaults")
		e.ResetStats()
		err := describeLin1(t, c)
		if err == nil {
			t.Fatal("dropped call succeeded")
		}
		var se *tea.SDKError
		if errors.As(err, &se) && tea.StringValue(se.Code) != "" && tea.IntValue(se.StatusCode) != 0 {
			t.Fatalf("dropped call looks like an answer: %v", err)
		}
		if !strings.Contains(err.Error(), "EOF") {
			t.Errorf("want an EOF transport error, got %v", err)
		}
		if s := e.Stats(); s.Dropped != 1 || s.Calls["DescribeInstances"] != 1 {
			t.Errorf("stats = %+v", s)
		}
	})

	t.Run("latency adds to the fleet's", func(t *testing.T) {
		mustNoErr(t, e.SetFaults(Faults{Latency: 60 * time.Millisecond}), "SetFaults")
		e.SetLatency(60 * time.Millisecond)
		start := time.Now()
		mustNoErr(t, describeLin1(t, c), "slow call")
		if took := time.Since(start); took < 120*time.Millisecond {
			t.Errorf("call took %v, want at least 120ms", took)
		}
		e.SetLatency(0)
	})

	t.Run("cleared", func(t *testing.T) {
		mustNoErr(t, e.SetFaults(Faults{}), "SetFaults")
		mustNoErr(t, describeLin1(t, c), "healthy call")
	})

	if err := e.SetFaults(Faults{ErrorRate: 1.5}); err == nil {
		t.Error("SetFaults accepted a rate above 1")
	}
}

func TestSlowCallTimesOutInTheSDK(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	e.SetLatency(2 * time.Second)
	cc := defaultClient()
	cc.timeout = 100 * time.Millisecond
	err := describeLin1(t, newClient(t, ep, cc))
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("want a client timeout, got %v", err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	base := "http://" + ep
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		mustNoErr(t, err, "build request")
		resp, err := http.DefaultClient.Do(req)
		mustNoErr(t, err, method+" "+path)
		defer closeBody(t, resp.Body)
		b, err := io.ReadAll(resp.Body)
		mustNoErr(t, err, "read body")
		return resp.StatusCode, string(b)
	}

	status, body := do(http.MethodPost, "/_emulator/faults", `{"throttleRate": 0.3, "errorRate": 0.1, "dropRate": 0.05, "latency": "50ms"}`)
	want := `{"throttleRate":0.3,"errorRate":0.1,"dropRate":0.05,"latency":"50ms"}`
	if status != http.StatusOK || body != want {
		t.Errorf("POST faults = %d %s, want 200 %s", status, body, want)
	}
	if f := e.Faults(); f.Latency != 50*time.Millisecond || f.DropRate != 0.05 {
		t.Errorf("faults in force = %+v", f)
	}
	if status, body = do(http.MethodPost, "/_emulator/faults", `{}`); status != http.StatusOK || e.Faults() != (Faults{}) {
		t.Errorf("clearing faults = %d %s, faults %+v", status, body, e.Faults())
	}
	for _, bad := range []string{`{"errorRate": 2}`, `{"latency": "soon"}`, `not json`} {
		if status, _ = do(http.MethodPost, "/_emulator/faults", bad); status != http.StatusBadRequest {
			t.Errorf("POST faults %s = %d, want 400", bad, status)
		}
	}

	c := newClient(t, ep, defaultClient())
	_, err := c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs("i-lin1"),
	}, rt())
	mustNoErr(t, err, "DetachKeyPair")
	_, err = c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-stop")}, rt())
	wantSDKError(t, err, "IncorrectInstanceStatus", http.StatusForbidden)
	wantSDKError(t, describeLin1(t, newClient(t, ep, clientConfig{ak: testAK, secret: "bad"})), "SignatureDoesNotMatch", http.StatusBadRequest)

	status, body = do(http.MethodGet, "/_emulator/stats", "")
	for _, frag := range []string{`"calls":{"DetachKeyPair":1,"RebootInstance":1}`, `"rejected":{"SignatureDoesNotMatch":1}`,
		`"errors":{"IncorrectInstanceStatus":1}`, `"reboots":{}`, `"maxConcurrentReboots":0`, `"forceReboots":0`} {
		if status != http.StatusOK || !strings.Contains(body, frag) {
			t.Errorf("stats = %d %s, want it to contain %s", status, body, frag)
		}
	}

	status, body = do(http.MethodGet, "/_emulator/instances", "")
	wantLin1 := `{"instanceId":"i-lin1","regionId":"cn-hangzhou","osType":"linux","status":"Running","keyPairName":"","startTime":"2026-05-05T10:00:58Z","pendingKeyChange":true,"cloudAssistant":true}`
	if status != http.StatusOK || !strings.HasPrefix(body, "[") || !strings.Contains(body, wantLin1) {
		t.Errorf("instances = %d %.300s, want an array containing %s", status, body, wantLin1)
	}

	if status, _ = do(http.MethodGet, "/_emulator/nothing", ""); status != http.StatusNotFound {
		t.Errorf("unknown admin path = %d, want 404", status)
	}
	if status, _ = do(http.MethodDelete, "/_emulator/stats", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE stats = %d, want 405", status)
	}
}
