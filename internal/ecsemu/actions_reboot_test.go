package ecsemu

import (
	"net/http"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// fixedStart is two seconds short of a minute boundary, so that a default reboot (5 s) yields a
// StartTime that differs even at ECS's minute precision.
var fixedStart = time.Date(2026, 5, 6, 10, 0, 58, 0, time.UTC)

// describeLin1Instance describes i-lin1, the instance the reboot tests reboot.
func describeLin1Instance(t *testing.T, c *ecs.Client) *ecs.DescribeInstancesResponseBodyInstancesInstance {
	t.Helper()
	resp, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
		RegionId: dara.String(testRegion), InstanceIds: jsonIDs("i-lin1"),
	}, rt())
	mustNoErr(t, err, "DescribeInstances")
	if len(resp.Body.Instances.Instance) != 1 {
		t.Fatalf("DescribeInstances(i-lin1) returned %d instances", len(resp.Body.Instances.Instance))
	}
	return resp.Body.Instances.Instance[0]
}

func TestRebootLifecycleWithFakeClock(t *testing.T) {
	clock := NewManualClock(fixedStart)
	e, ep := startEmulator(t, testFleet(), WithClock(clock))
	c := newClient(t, ep, defaultClient())
	_, err := c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs("i-lin1"),
	}, rt())
	mustNoErr(t, err, "DetachKeyPair")
	before := tea.StringValue(describeLin1Instance(t, c).StartTime)

	_, err = c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin1")}, rt())
	mustNoErr(t, err, "RebootInstance")

	steps := []struct {
		advance time.Duration
		status  string
		pending bool
	}{
		{0, StatusStopping, true},
		{DefaultStopping - time.Nanosecond, StatusStopping, true},
		{time.Nanosecond, StatusStarting, true},
		{DefaultStarting - time.Nanosecond, StatusStarting, true},
		{time.Nanosecond, StatusRunning, false},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := tea.StringValue(describeLin1Instance(t, c).Status); got != s.status {
			t.Fatalf("step %d: status %s, want %s", i, got, s.status)
		}
		if in, _ := e.Instance("i-lin1"); in.PendingKeyChange != s.pending {
			t.Fatalf("step %d: pendingKeyChange %v, want %v", i, in.PendingKeyChange, s.pending)
		}
	}
	after := tea.StringValue(describeLin1Instance(t, c).StartTime)
	if before != "2026-05-05T10:00Z" || after != "2026-05-06T10:01Z" {
		t.Errorf("StartTime before/after reboot = %s/%s", before, after)
	}
	if in, _ := e.Instance("i-lin1"); !in.StartTime.Equal(fixedStart.Add(DefaultStopping + DefaultStarting)) {
		t.Errorf("StartTime = %v, want end of reboot", in.StartTime)
	}
	if s := e.Stats(); s.Reboots["i-lin1"] != 1 || s.MaxConcurrentReboots != 1 || s.ForceReboots != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRebootInstanceErrors(t *testing.T) {
	clock := NewManualClock(fixedStart)
	e, ep := startEmulator(t, testFleet(), WithClock(clock))
	c := newClient(t, ep, defaultClient())
	_, err := c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin3")}, rt())
	mustNoErr(t, err, "RebootInstance")
	mustNoErr(t, e.SetLockReason("i-lin2", "financial"), "SetLockReason")

	tests := []struct {
		name   string
		req    *ecs.RebootInstanceRequest
		code   string
		status int
	}{
		{"stopped", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-stop")}, "IncorrectInstanceStatus", http.StatusForbidden},
		{"already rebooting", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin3")}, "IncorrectInstanceStatus", http.StatusForbidden},
		{"missing", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-missing")}, "InvalidInstanceId.NotFound", http.StatusNotFound},
		{"locked", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-locked")}, "InstanceLockedForSecurity", http.StatusForbidden},
		{"in arrears", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin2")}, "InstanceExpiredOrInArrears", http.StatusForbidden},
		{"instance of another region", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-bj")}, "", 0},
		{"no id", &ecs.RebootInstanceRequest{}, "MissingParameter", http.StatusBadRequest},
		{"dry run", &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin1"), DryRun: dara.Bool(true)}, "DryRunOperation", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.RebootInstanceWithContext(ctx(t), tt.req, rt())
			if tt.code == "" {
				// RebootInstance has no RegionId: the endpoint serves every region's instances.
				mustNoErr(t, err, "RebootInstance")
				return
			}
			wantSDKError(t, err, tt.code, tt.status)
		})
	}
	s := e.Stats()
	if s.Reboots["i-lin1"] != 0 || s.Reboots["i-lin3"] != 1 || s.Reboots["i-bj"] != 1 || s.Errors["IncorrectInstanceStatus"] != 2 || s.Calls["RebootInstance"] != 9 {
		t.Errorf("stats = %+v", s)
	}

	_, err = c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin1"), ForceStop: dara.Bool(true)}, rt())
	mustNoErr(t, err, "forced RebootInstance")
	if s := e.Stats(); s.ForceReboots != 1 || s.Reboots["i-lin1"] != 1 || s.MaxConcurrentReboots != 3 {
		t.Errorf("after forced reboot: %+v", s)
	}
}

func TestRebootInstancesAllTogether(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())
	region := dara.String(testRegion)

	_, err := c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: region, InstanceId: stringPtrs([]string{"i-lin1", "i-stop", "i-lin2"}),
	}, rt())
	wantSDKError(t, err, "IncorrectInstanceStatus", http.StatusForbidden)
	if s := e.Stats(); len(s.Reboots) != 0 {
		t.Fatalf("AllTogether rebooted despite a bad instance: %v", s.Reboots)
	}

	_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: region, InstanceId: stringPtrs(genIDs(1, 101)),
	}, rt())
	wantSDKError(t, err, "InvalidParameter.TooManyInstanceIds", http.StatusBadRequest)

	_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: region, InstanceId: stringPtrs(genIDs(1, 100)), DryRun: dara.Bool(true),
	}, rt())
	wantSDKError(t, err, "DRYRUN.SUCCESS", http.StatusBadRequest)

	_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: region, InstanceId: stringPtrs([]string{"i-lin1"}), BatchOptimization: dara.String("Whatever"),
	}, rt())
	wantSDKError(t, err, "InvalidParameter", http.StatusBadRequest)

	resp, err := c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: region, InstanceId: stringPtrs(genIDs(1, 100)),
		ForceReboot: dara.Bool(true), BatchOptimization: dara.String("AllTogether"),
	}, rt())
	mustNoErr(t, err, "RebootInstances")
	if n := len(resp.Body.InstanceResponses.InstanceResponse); n != 100 {
		t.Fatalf("%d instance responses, want 100", n)
	}
	for _, r := range resp.Body.InstanceResponses.InstanceResponse {
		if tea.StringValue(r.Code) != "200" || tea.StringValue(r.PreviousStatus) != StatusRunning || tea.StringValue(r.CurrentStatus) != StatusStopping {
			t.Fatalf("instance response %v", r)
		}
	}
	s := e.Stats()
	if len(s.Reboots) != 100 || s.MaxConcurrentReboots != 100 || s.ForceReboots != 100 || s.Errors["DRYRUN.SUCCESS"] != 1 {
		t.Errorf("stats = reboots %d, max %d, force %d, errors %v", len(s.Reboots), s.MaxConcurrentReboots, s.ForceReboots, s.Errors)
	}
}

func TestRebootInstancesSuccessFirst(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())
	resp, err := c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: dara.String(testRegion), BatchOptimization: dara.String("SuccessFirst"),
		InstanceId: stringPtrs([]string{"i-lin1", "i-stop", "i-missing", "i-win"}),
	}, rt())
	mustNoErr(t, err, "RebootInstances")
	type result struct{ code, prev, cur string }
	want := map[string]result{
		"i-lin1":    {"200", StatusRunning, StatusStopping},
		"i-stop":    {"IncorrectInstanceStatus", StatusStopped, StatusStopped},
		"i-missing": {"InvalidInstanceId.NotFound", "", ""},
		"i-win":     {"200", StatusRunning, StatusStopping},
	}
	rs := resp.Body.InstanceResponses.InstanceResponse
	if len(rs) != len(want) {
		t.Fatalf("%d responses, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		got := result{tea.StringValue(r.Code), tea.StringValue(r.PreviousStatus), tea.StringValue(r.CurrentStatus)}
		if w := want[tea.StringValue(r.InstanceId)]; got != w {
			t.Errorf("%s: got %+v, want %+v", tea.StringValue(r.InstanceId), got, w)
		}
	}
	if s := e.Stats(); s.Reboots["i-lin1"] != 1 || s.Reboots["i-win"] != 1 || len(s.Reboots) != 2 {
		t.Errorf("reboots = %v", s.Reboots)
	}
}

func TestRebootHangAndConcurrency(t *testing.T) {
	clock := NewManualClock(fixedStart)
	e, ep := startEmulator(t, testFleet(), WithClock(clock))
	c := newClient(t, ep, defaultClient())
	reboot := func(id string) {
		t.Helper()
		_, err := c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String(id)}, rt())
		mustNoErr(t, err, "RebootInstance "+id)
	}
	mustNoErr(t, e.SetRebootHang("i-lin1", true), "SetRebootHang")
	reboot("i-lin1")
	clock.Advance(time.Hour)
	if in, _ := e.Instance("i-lin1"); in.Status != StatusStarting {
		t.Fatalf("hung instance is %s, want Starting", in.Status)
	}
	reboot("i-lin2") // the hung reboot is still in flight: 2 at once
	clock.Advance(time.Minute)
	reboot("i-lin3") // i-lin2 is done: still 2 at once
	if s := e.Stats(); s.MaxConcurrentReboots != 2 {
		t.Errorf("maxConcurrentReboots = %d, want 2", s.MaxConcurrentReboots)
	}
	mustNoErr(t, e.SetInstanceStatus("i-lin1", StatusRunning), "SetInstanceStatus")
	if in, _ := e.Instance("i-lin1"); in.Status != StatusRunning || !in.StartTime.Equal(clock.Now()) {
		t.Errorf("after SetInstanceStatus: %+v", in)
	}
	if err := e.SetInstanceStatus("i-lin1", StatusStarting); err == nil {
		t.Error("SetInstanceStatus accepted Starting")
	}
	if err := e.SetRebootHang("i-nope", true); err == nil {
		t.Error("SetRebootHang accepted an unknown instance")
	}
}

func TestRebootLifecycleWithRealClock(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	e.SetLifecycle(200*time.Millisecond, 200*time.Millisecond)
	c := newClient(t, ep, defaultClient())
	before, _ := e.Instance("i-lin1")
	_, err := c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin1")}, rt())
	mustNoErr(t, err, "RebootInstance")
	seen := map[string]bool{}
	eventually(t, 5*time.Second, func() bool {
		st := tea.StringValue(describeLin1Instance(t, c).Status)
		seen[st] = true
		return st == StatusRunning
	})
	after, _ := e.Instance("i-lin1")
	if !after.StartTime.After(before.StartTime) {
		t.Errorf("StartTime did not move: %v → %v", before.StartTime, after.StartTime)
	}
	if !seen[StatusStopping] && !seen[StatusStarting] {
		t.Errorf("never observed the reboot in progress: %v", seen)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		<-tick.C
	}
}
