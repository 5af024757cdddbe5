package ecs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDescribeInstancesPaging(t *testing.T) {
	srv := newFakeECS(t, func(action string, q url.Values) (int, string) {
		if q.Get("NextToken") == "" {
			return 200, `{"RequestId":"R1","NextToken":"tok2","Instances":{"Instance":[
				{"InstanceId":"i-a","Status":"Running","OSType":"linux","KeyPairName":"kp1","StartTime":"2026-11-28T04:04Z","RegionId":"cn-hangzhou","OperationLocks":{"LockReason":[]}},
				{"InstanceId":"i-w","Status":"Stopped","OSType":"windows","StartTime":"2026-11-28T04:04:05Z","OperationLocks":{"LockReason":[{"LockReason":"security"}]}}]}}`
		}
		return 200, `{"RequestId":"R2","NextToken":"","Instances":{"Instance":[
			{"InstanceId":"i-b","Status":"Starting","OSType":"linux","KeyPairName":"other"},
			{"InstanceId":"i-not-asked","Status":"Running","OSType":"linux","KeyPairName":"kp1"}]}}`
	})
	c := srv.client(t, FactoryOptions{})
	got, err := c.DescribeInstances(context.Background(), []string{"i-a", "i-w", "i-b", "i-missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Instance{
		{ID: "i-a", Status: StatusRunning, KeyPairName: "kp1", StartTime: time.Date(2026, 11, 28, 4, 4, 0, 0, time.UTC)},
		{ID: "i-w", Status: StatusStopped, Windows: true, StartTime: time.Date(2026, 11, 28, 4, 4, 5, 0, time.UTC), LockReasons: []string{"security"}},
		{ID: "i-b", Status: StatusStarting, KeyPairName: "other"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	q := reqs[0].query
	if q.Get("InstanceIds") != `["i-a","i-w","i-b","i-missing"]` || q.Get("MaxResults") != "100" || q.Get("RegionId") != "cn-hangzhou" {
		t.Errorf("first page query = %v", q)
	}
	if reqs[1].query.Get("NextToken") != "tok2" {
		t.Errorf("second page query = %v", reqs[1].query)
	}
	if !strings.HasPrefix(reqs[0].header.Get("Authorization"), "ACS3-HMAC-SHA256 Credential=LTAI_TEST,") {
		t.Errorf("Authorization = %q", reqs[0].header.Get("Authorization"))
	}
}

func TestDescribeInstancesRepeatedTokenStops(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"R","NextToken":"same","Instances":{"Instance":[]}}`
	})
	c := srv.client(t, FactoryOptions{})
	if _, err := c.DescribeInstances(context.Background(), []string{"i-a"}); err == nil {
		t.Fatal("no error for a repeated NextToken")
	}
	if n := srv.total(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestKeyPairExists(t *testing.T) {
	srv := newFakeECS(t, func(_ string, q url.Values) (int, string) {
		switch q.Get("KeyPairName") {
		case "kp1":
			return 200, `{"RequestId":"K1","TotalCount":1,"PageNumber":1,"PageSize":50,"KeyPairs":{"KeyPair":[{"KeyPairName":"kp1","KeyPairFingerPrint":"ab"}]}}`
		case "kp*":
			return 200, `{"RequestId":"K2","TotalCount":2,"PageNumber":1,"PageSize":50,"KeyPairs":{"KeyPair":[{"KeyPairName":"kpA"},{"KeyPairName":"kpB"}]}}`
		case "gone":
			return 404, `{"RequestId":"K3","Code":"InvalidKeyPairName.NotFound","Message":"The specified KeyPairName does not exist."}`
		}
		return 200, `{"RequestId":"K4","TotalCount":0,"PageNumber":1,"PageSize":50,"KeyPairs":{"KeyPair":[]}}`
	})
	c := srv.client(t, FactoryOptions{})
	for name, want := range map[string]bool{"kp1": true, "kp*": false, "gone": false, "nothing": false} {
		got, err := c.KeyPairExists(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("KeyPairExists(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestDetachKeyPairPartialFailure(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E","KeyPairName":"kp1","TotalCount":"3","FailCount":"1",
			"Results":{"Result":[
			{"InstanceId":"i-bp1a","Success":"true","Code":"200","Message":"successful"},
			{"InstanceId":"i-bp1w","Success":"false","Code":"DependencyViolation.WindowsInstance","Message":"The instance creating is windows, cannot use ssh key pair to login"},
			{"InstanceId":"i-bool","Success":true,"Code":200},
			{"InstanceId":"i-stranger","Success":"true","Code":"200"}]}}`
	})
	c := srv.client(t, FactoryOptions{})
	ids := []string{"i-bp1a", "i-bp1w", "i-gone", "i-bool"}
	got, err := c.DetachKeyPair(context.Background(), "kp1", ids)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchResult{RequestID: "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E", Results: []InstanceResult{
		{InstanceID: "i-bp1a"},
		{InstanceID: "i-bp1w", Code: "DependencyViolation.WindowsInstance", Message: "The instance creating is windows, cannot use ssh key pair to login"},
		{InstanceID: "i-gone", Code: CodeNoInstanceResult, Message: "ECS answered the batch without a result for this instance"},
		{InstanceID: "i-bool"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if ClassifyCode(got.Results[1].Code) != ClassInstanceTerminal || ClassifyCode(got.Results[2].Code) != ClassRetryable {
		t.Error("per-instance codes misclassified")
	}
	q := srv.last().query
	if q.Get("KeyPairName") != "kp1" || q.Get("InstanceIds") != `["i-bp1a","i-bp1w","i-gone","i-bool"]` || q.Get("RegionId") != "cn-hangzhou" {
		t.Errorf("query = %v", q)
	}
}

func TestRebootInstancesPerInstance(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"RB-1","InstanceResponses":{"InstanceResponse":[
			{"InstanceId":"i-a","Code":"200","Message":"success","PreviousStatus":"Running","CurrentStatus":"Stopping"},
			{"InstanceId":"i-s","Code":"IncorrectInstanceStatus","Message":"The current status of the resource does not support this operation.","PreviousStatus":"Stopped","CurrentStatus":"Stopped"},
			{"InstanceId":"i-e","Code":"","PreviousStatus":"Running","CurrentStatus":"Stopping"}]}}`
	})
	c := srv.client(t, FactoryOptions{})
	got, err := c.RebootInstances(context.Background(), []string{"i-a", "i-s", "i-e", "i-x"}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchResult{RequestID: "RB-1", Results: []InstanceResult{
		{InstanceID: "i-a"},
		{InstanceID: "i-s", Code: "IncorrectInstanceStatus", Message: "The current status of the resource does not support this operation."},
		{InstanceID: "i-e"},
		{InstanceID: "i-x", Code: CodeNoInstanceResult, Message: "ECS answered the batch without a result for this instance"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	q := srv.last().query
	for k, v := range map[string]string{"InstanceId.1": "i-a", "InstanceId.4": "i-x", "ForceReboot": "true",
		"BatchOptimization": "SuccessFirst", "RegionId": "cn-hangzhou"} {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q (%v)", k, q.Get(k), v, q)
		}
	}
	if _, err := c.RebootInstances(context.Background(), []string{"i-a"}, false); err != nil {
		t.Fatal(err)
	}
	if got := srv.last().query.Get("ForceReboot"); got != "false" {
		t.Errorf("ForceReboot = %q, want false", got)
	}
}

func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		class      Class
		code       string
		requestID  string
		throttling bool
	}{
		{"not found", 404, `{"RequestId":"81EF1E7D-1","HostId":"ecs.cn-hangzhou.aliyuncs.com","Code":"InvalidInstanceId.NotFound","Message":"The specified InstanceId does not exist.","Recommend":"https://api.aliyun.com/troubleshoot?q=x"}`,
			ClassInstanceTerminal, "InvalidInstanceId.NotFound", "81EF1E7D-1", false},
		{"bad signature", 400, `{"RequestId":"R-SIG","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:ACS3-HMAC-SHA256\nabc test-secret"}`,
			ClassCredentials, "SignatureDoesNotMatch", "R-SIG", false},
		{"ram", 403, `{"RequestId":"R-RAM","Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource."}`,
			ClassCredentials, "Forbidden.RAM", "R-RAM", false},
		{"throttled", 400, `{"RequestId":"R-TH","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`,
			ClassRetryable, "Throttling.User", "R-TH", true},
		{"unavailable", 503, `{"RequestId":"R-503","Code":"ServiceUnavailable","Message":"The request has failed due to a temporary failure of the server."}`,
			ClassRetryable, "ServiceUnavailable", "R-503", false},
		{"key pair", 404, `{"RequestId":"R-KP","Code":"InvalidKeyPairName.NotFound","Message":"The specified KeyPairName does not exist."}`,
			ClassObjectTerminal, "InvalidKeyPairName.NotFound", "R-KP", false},
		{"too many", 400, `{"RequestId":"R-MANY","Code":"InstanceKeyPairLimitExceeded","Message":"too many"}`,
			ClassRequestBug, "InstanceKeyPairLimitExceeded", "R-MANY", false},
		{"html 502", 502, `<html><body>502 Bad Gateway</body></html>`, ClassRetryable, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeECS(t, func(string, url.Values) (int, string) { return tc.status, tc.body })
			c := srv.client(t, FactoryOptions{})
			before := callCount(actionDetachKeyPair, metricLabel(tc.code))
			_, err := c.DetachKeyPair(context.Background(), "kp1", []string{"i-a"})
			if err == nil {
				t.Fatal("no error")
			}
			if Classify(err) != tc.class || ErrorCode(err) != tc.code || RequestID(err) != tc.requestID || IsThrottling(err) != tc.throttling {
				t.Errorf("err %q: class %v code %q request id %q throttling %v", err, Classify(err), ErrorCode(err), RequestID(err), IsThrottling(err))
			}
			for _, bad := range []string{"test-secret", "string to sign", "Recommend", "troubleshoot"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("error text %q contains %q", err, bad)
				}
			}
			if got := callCount(actionDetachKeyPair, metricLabel(tc.code)) - before; got != 1 {
				t.Errorf("calls_total{DetachKeyPair,%s} grew by %v, want 1", metricLabel(tc.code), got)
			}
		})
	}
}

func metricLabel(code string) string {
	if code == "" {
		return metricCodeNetwork
	}
	return code
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	hang := newFakeECS(t, func(string, url.Values) (int, string) { return 0, "" })
	c := hang.client(t, FactoryOptions{CallTimeout: 100 * time.Millisecond})
	_, err := c.DescribeInstances(context.Background(), []string{"i-a"})
	if err == nil || Classify(err) != ClassRetryable || ErrorCode(err) != "" {
		t.Errorf("timeout: %v (class %v)", err, Classify(err))
	}

	gone := newFakeECS(t, nil)
	c = gone.client(t, FactoryOptions{})
	gone.srv.Close()
	_, err = c.DescribeInstances(context.Background(), []string{"i-a"})
	if err == nil || Classify(err) != ClassRetryable {
		t.Errorf("connection refused: %v (class %v)", err, Classify(err))
	}
	if strings.Contains(err.Error(), "InstanceIds") {
		t.Errorf("error text %q carries the query", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newFakeECS(t, nil).client(t, FactoryOptions{}).DescribeInstances(ctx, []string{"i-a"})
	if !errors.Is(err, context.Canceled) || Classify(err) != ClassRetryable {
		t.Errorf("canceled: %v", err)
	}
}

func TestOversizedBatchesRejectedLocally(t *testing.T) {
	srv := newFakeECS(t, nil)
	c := srv.client(t, FactoryOptions{})
	ctx := context.Background()
	errs := make([]error, 0, 3)
	_, err := c.DescribeInstances(ctx, manyIDs(MaxDescribeIDs+1))
	errs = append(errs, err)
	_, err = c.DetachKeyPair(ctx, "kp1", manyIDs(MaxDetachIDs+1))
	errs = append(errs, err)
	_, err = c.RebootInstances(ctx, manyIDs(MaxRebootIDs+1), false)
	errs = append(errs, err)
	for _, err := range errs {
		if Classify(err) != ClassRequestBug || ErrorCode(err) != CodeBatchTooLarge {
			t.Errorf("err %v: class %v code %q", err, Classify(err), ErrorCode(err))
		}
	}
	// Empty batches make no call either.
	if _, err := c.DetachKeyPair(ctx, "kp1", nil); err != nil {
		t.Error(err)
	}
	if n := srv.total(); n != 0 {
		t.Errorf("%d requests reached ECS", n)
	}
	// The limits themselves pass.
	if _, err := c.DetachKeyPair(ctx, "kp1", manyIDs(MaxDetachIDs)); err != nil {
		t.Error(err)
	}
}

// TestNeverSent is what makes a second reboot request safe: only failures that prove nothing
// left the process count, a timeout after the request was written never does.
func TestNeverSent(t *testing.T) {
	gone := newFakeECS(t, nil)
	c := gone.client(t, FactoryOptions{})
	gone.srv.Close()
	if _, err := c.RebootInstances(context.Background(), []string{"i-a"}, false); !NeverSent(err) {
		t.Errorf("connection refused must prove the request was never sent: %v", err)
	}

	hang := newFakeECS(t, func(string, url.Values) (int, string) { return 0, "" })
	c = hang.client(t, FactoryOptions{CallTimeout: 100 * time.Millisecond})
	if _, err := c.RebootInstances(context.Background(), []string{"i-a"}, false); err == nil || NeverSent(err) {
		t.Errorf("a timeout after sending proves nothing, got NeverSent for %v", err)
	}

	if _, err := c.RebootInstances(context.Background(), make([]string, MaxRebootIDs+1), false); !NeverSent(err) {
		t.Errorf("a batch refused locally was never sent: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	limited := newFakeECS(t, nil).client(t, FactoryOptions{QPS: 0.001, Burst: 1})
	_, _ = limited.DescribeInstances(context.Background(), []string{"i-a"}) // spends the burst
	if _, err := limited.RebootInstances(ctx, []string{"i-a"}, false); !NeverSent(err) || Classify(err) != ClassRetryable {
		t.Errorf("a rate-limit wait given up was never sent: %v (class %v)", err, Classify(err))
	}
	if NeverSent(&APIError{Code: "Throttling"}) {
		t.Error("an ECS answer is not NeverSent")
	}
}

// manyIDs returns n distinct instance IDs, for batches over ECS's limits.
func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("i-%04d", i)
	}
	return out
}
