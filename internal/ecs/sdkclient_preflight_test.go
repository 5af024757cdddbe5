package ecs

import (
	"context"
	"net/url"
	"reflect"
	"testing"
)

func TestCloudAssistantStatus(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"CA-1","TotalCount":3,"InstanceCloudAssistantStatusSet":{"InstanceCloudAssistantStatus":[
			{"InstanceId":"i-a","CloudAssistantStatus":"true","SupportSessionManager":true,"OSType":"Linux"},
			{"InstanceId":"i-b","CloudAssistantStatus":"false","SupportSessionManager":false,"OSType":"Windows"},
			{"InstanceId":"i-stranger","CloudAssistantStatus":"true"}]}}`
	})
	c := srv.client(t, FactoryOptions{})
	before := callCount(actionCloudAssistant, metricCodeOK)
	got, err := c.CloudAssistantStatus(context.Background(), []string{"i-a", "i-b", "i-gone"})
	if err != nil {
		t.Fatal(err)
	}
	// i-gone was not answered for and stays absent; i-stranger was not asked about.
	if want := map[string]bool{"i-a": true, "i-b": false}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	r := srv.last()
	if r.action != actionCloudAssistant {
		t.Errorf("action = %s", r.action)
	}
	for k, v := range map[string]string{"RegionId": "cn-hangzhou", "InstanceId.1": "i-a", "InstanceId.3": "i-gone"} {
		if r.query.Get(k) != v {
			t.Errorf("query %s = %q, want %q (%v)", k, r.query.Get(k), v, r.query)
		}
	}
	if n := callCount(actionCloudAssistant, metricCodeOK) - before; n != 1 {
		t.Errorf("calls_total{%s,OK} grew by %v, want 1", actionCloudAssistant, n)
	}
}

func TestRebootDryRunAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		pass   bool
		class  Class
		metric string
	}{
		{"batch dry run passed", 400, `{"RequestId":"R","Code":"DRYRUN.SUCCESS","Message":"This request is a dryrun request with successful result."}`,
			true, ClassNone, "DRYRUN.SUCCESS"},
		{"single-call dry-run code", 400, `{"RequestId":"R","Code":"DryRunOperation","Message":"Request validation has been passed with DryRun flag set."}`,
			true, ClassNone, "DRYRUN.SUCCESS"},
		{"not permitted", 403, `{"RequestId":"R","Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource."}`,
			false, ClassCredentials, "Forbidden.RAM"},
		{"an instance not Running", 403, `{"RequestId":"R","Code":"IncorrectInstanceStatus","Message":"The current status of the resource does not support this operation."}`,
			false, ClassInstanceState, "IncorrectInstanceStatus"},
		{"throttled", 400, `{"RequestId":"R","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`,
			false, ClassRetryable, "Throttling.User"},
		// A 200 is no dry-run answer: it may even be a reboot.
		{"no dry-run code", 200, `{"RequestId":"R","InstanceResponses":{"InstanceResponse":[]}}`, false, ClassRetryable, metricCodeNetwork},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeECS(t, func(string, url.Values) (int, string) { return tc.status, tc.body })
			c := srv.client(t, FactoryOptions{})
			before := callCount(actionRebootInstances, tc.metric)
			err := c.RebootDryRun(context.Background(), []string{"i-a", "i-b"}, true)
			if (err == nil) != tc.pass || Classify(err) != tc.class {
				t.Errorf("err = %v (class %v), want pass %v class %v", err, Classify(err), tc.pass, tc.class)
			}
			if n := callCount(actionRebootInstances, tc.metric) - before; n != 1 {
				t.Errorf("calls_total{RebootInstances,%s} grew by %v, want 1", tc.metric, n)
			}
			q := srv.last().query
			for k, v := range map[string]string{"DryRun": "true", "BatchOptimization": "AllTogether", "ForceReboot": "true",
				"InstanceId.1": "i-a", "InstanceId.2": "i-b", "RegionId": "cn-hangzhou"} {
				if q.Get(k) != v {
					t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
				}
			}
		})
	}
}

func TestAttachKeyPairPartialFailure(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 200, `{"RequestId":"AT-1","KeyPairName":"kp2","TotalCount":"3","FailCount":"1","Results":{"Result":[
			{"InstanceId":"i-a","Success":"true","Code":"200","Message":"successful"},
			{"InstanceId":"i-w","Success":"false","Code":"DependencyViolation.WindowsInstance","Message":"windows"},
			{"InstanceId":"i-stranger","Success":"true","Code":"200"}]}}`
	})
	c := srv.client(t, FactoryOptions{})
	got, err := c.AttachKeyPair(context.Background(), "kp2", []string{"i-a", "i-w", "i-gone"})
	if err != nil {
		t.Fatal(err)
	}
	want := BatchResult{RequestID: "AT-1", Results: []InstanceResult{
		{InstanceID: "i-a"},
		{InstanceID: "i-w", Code: "DependencyViolation.WindowsInstance", Message: "windows"},
		{InstanceID: "i-gone", Code: CodeNoInstanceResult, Message: "ECS answered the batch without a result for this instance"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	r := srv.last()
	if r.action != actionAttachKeyPair || r.query.Get("KeyPairName") != "kp2" || r.query.Get("InstanceIds") != `["i-a","i-w","i-gone"]` {
		t.Errorf("request = %s %v", r.action, r.query)
	}
}

func TestPreflightBatchLimits(t *testing.T) {
	srv := newFakeECS(t, nil)
	c := srv.client(t, FactoryOptions{})
	ctx := context.Background()
	_, err1 := c.CloudAssistantStatus(ctx, manyIDs(MaxCloudAssistantIDs+1))
	err2 := c.RebootDryRun(ctx, manyIDs(MaxRebootIDs+1), false)
	_, err3 := c.AttachKeyPair(ctx, "kp1", manyIDs(MaxDetachIDs+1))
	for _, err := range []error{err1, err2, err3} {
		if ErrorCode(err) != CodeBatchTooLarge || !NeverSent(err) {
			t.Errorf("err %v: code %q", err, ErrorCode(err))
		}
	}
	// Empty batches make no call and answer nothing.
	if got, err := c.CloudAssistantStatus(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("empty CloudAssistantStatus = %v, %v", got, err)
	}
	if err := c.RebootDryRun(ctx, nil, false); err != nil {
		t.Error(err)
	}
	if res, err := c.AttachKeyPair(ctx, "kp1", nil); err != nil || len(res.Results) != 0 {
		t.Errorf("empty AttachKeyPair = %v, %v", res, err)
	}
	if n := srv.total(); n != 0 {
		t.Errorf("%d requests reached ECS", n)
	}
}

// TestPreflightCallsShareTheBudget: the new calls draw from and adapt the same per-(identity,
// region) budget as the others.
func TestPreflightCallsShareTheBudget(t *testing.T) {
	srv := newFakeECS(t, func(string, url.Values) (int, string) {
		return 400, `{"RequestId":"R","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`
	})
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL(), QPS: 8, Burst: 8, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.ForRegion(context.Background(), "cn-hangzhou", &Credentials{AccessKeyID: "LTAI_A", AccessKeySecret: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CloudAssistantStatus(context.Background(), []string{"i-a"}); !IsThrottling(err) {
		t.Fatalf("want throttling, got %v", err)
	}
	if got := f.limiters.get("ak:LTAI_A", "cn-hangzhou").Limit(); got != 4 {
		t.Errorf("shared limit after throttling = %v, want 4", got)
	}
}
