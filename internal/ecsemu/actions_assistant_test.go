package ecsemu

import (
	"net/http"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// assistantFleet is testFleet with one Linux and one Windows instance whose agent is not running.
func assistantFleet() Fleet {
	f := testFleet()
	off := false
	f.Instances = append(f.Instances,
		InstanceSpec{InstanceID: "i-noagent", RegionID: testRegion, CloudAssistant: &off},
		InstanceSpec{InstanceID: "i-win-noagent", RegionID: testRegion, OSType: OSWindows, CloudAssistant: &off},
	)
	return f
}

type assistantAnswer struct {
	status  string
	session bool
	osType  string
}

func assistantStatuses(t *testing.T, c *ecs.Client, ids ...string) map[string]assistantAnswer {
	t.Helper()
	resp, err := c.DescribeCloudAssistantStatusWithContext(ctx(t), &ecs.DescribeCloudAssistantStatusRequest{
		RegionId: dara.String(testRegion), InstanceId: stringPtrs(ids),
	}, rt())
	mustNoErr(t, err, "DescribeCloudAssistantStatus")
	out := map[string]assistantAnswer{}
	for _, s := range resp.Body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus {
		out[tea.StringValue(s.InstanceId)] = assistantAnswer{
			tea.StringValue(s.CloudAssistantStatus), tea.BoolValue(s.SupportSessionManager), tea.StringValue(s.OSType),
		}
	}
	return out
}

func TestDescribeCloudAssistantStatus(t *testing.T) {
	e, ep := startEmulator(t, assistantFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())

	got := assistantStatuses(t, c, "i-lin1", "i-win", "i-stop", "i-noagent", "i-win-noagent", "i-missing", "i-bj")
	want := map[string]assistantAnswer{
		"i-lin1":        {"true", true, OSLinux},
		"i-win":         {"true", true, OSWindows},
		"i-stop":        {"false", true, OSLinux}, // installed, but a Stopped instance sends no heartbeat
		"i-noagent":     {"false", false, OSLinux},
		"i-win-noagent": {"false", false, OSWindows},
	}
	if len(got) != len(want) {
		t.Errorf("answered for %v, want exactly %d instances (unknown and other-region IDs left out)", got, len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, got[id], w)
		}
	}

	// The agent follows the instance and the admin switch.
	mustNoErr(t, e.SetInstanceStatus("i-stop", StatusRunning), "start i-stop")
	mustNoErr(t, e.SetCloudAssistant("i-lin1", false), "stop agent of i-lin1")
	got = assistantStatuses(t, c, "i-stop", "i-lin1")
	if got["i-stop"].status != "true" || got["i-lin1"].status != "false" {
		t.Errorf("after changes: %+v", got)
	}
	if in, _ := e.Instance("i-lin1"); in.CloudAssistant {
		t.Errorf("admin view of i-lin1 still shows the agent: %+v", in)
	}

	// No ID known at all is an empty answer, not an error.
	if got := assistantStatuses(t, c, "i-missing"); len(got) != 0 {
		t.Errorf("unknown ID answered %v", got)
	}
	if s := e.Stats(); s.Calls["DescribeCloudAssistantStatus"] != 3 {
		t.Errorf("calls = %v", s.Calls)
	}
}

func TestDescribeCloudAssistantStatusLimitsAndPaging(t *testing.T) {
	e, ep := startEmulator(t, assistantFleet())
	c := newClient(t, ep, defaultClient())

	if got := assistantStatuses(t, c, genIDs(1, 100)...); len(got) != 100 {
		t.Errorf("100 IDs answered %d", len(got))
	}
	_, err := c.DescribeCloudAssistantStatusWithContext(ctx(t), &ecs.DescribeCloudAssistantStatusRequest{
		RegionId: dara.String(testRegion), InstanceId: stringPtrs(genIDs(1, 101)),
	}, rt())
	wantSDKError(t, err, "InstanceIds.ExceedLimit", http.StatusForbidden)
	_, err = c.DescribeCloudAssistantStatusWithContext(ctx(t), &ecs.DescribeCloudAssistantStatusRequest{
		RegionId: dara.String("xx-nowhere-1"), InstanceId: stringPtrs([]string{"i-lin1"}),
	}, rt())
	wantSDKError(t, err, "InvalidRegionId.NotFound", http.StatusNotFound)
	if s := e.Stats(); s.Errors["InstanceIds.ExceedLimit"] != 1 {
		t.Errorf("errors = %v", s.Errors)
	}

	// Without IDs the region is paged with MaxResults and NextToken.
	seen := map[string]bool{}
	req := &ecs.DescribeCloudAssistantStatusRequest{RegionId: dara.String(testRegion), MaxResults: dara.Int32(50)}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		resp, err := c.DescribeCloudAssistantStatusWithContext(ctx(t), req, rt())
		mustNoErr(t, err, "DescribeCloudAssistantStatus page")
		for _, s := range resp.Body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus {
			seen[tea.StringValue(s.InstanceId)] = true
		}
		next := tea.StringValue(resp.Body.NextToken)
		if next == "" {
			break
		}
		req.NextToken = dara.String(next)
	}
	// testFleet's cn-hangzhou: 8 listed + 150 generated, plus assistantFleet's 2; i-bj is elsewhere.
	if len(seen) != 160 || seen["i-bj"] {
		t.Errorf("paged %d instances (i-bj %v), want 160", len(seen), seen["i-bj"])
	}
}
