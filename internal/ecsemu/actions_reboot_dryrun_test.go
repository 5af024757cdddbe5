package ecsemu

import (
	"net/http"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// An AllTogether dry run is a pre-flight: it answers DRYRUN.SUCCESS only when the real call
// would pass, else the real call's error.
func TestRebootInstancesAllTogetherDryRun(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())
	_, err := c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin3")}, rt())
	mustNoErr(t, err, "reboot i-lin3 so that it is Stopping")

	tests := []struct {
		name   string
		ids    []string
		code   string
		status int
	}{
		{"all Running", []string{"i-lin1", "i-lin2", "i-win"}, "DRYRUN.SUCCESS", http.StatusBadRequest},
		{"one Stopped", []string{"i-lin1", "i-stop"}, "IncorrectInstanceStatus", http.StatusForbidden},
		{"one rebooting", []string{"i-lin1", "i-lin3"}, "IncorrectInstanceStatus", http.StatusForbidden},
		{"one locked", []string{"i-lin1", "i-locked"}, "InstanceLockedForSecurity", http.StatusForbidden},
		{"one missing", []string{"i-lin1", "i-missing"}, "InvalidInstanceId.NotFound", http.StatusNotFound},
		{"one in another region", []string{"i-lin1", "i-bj"}, "InvalidInstanceId.NotFound", http.StatusNotFound},
	}
	for _, tt := range tests {
		for _, mode := range []*string{nil, dara.String("AllTogether")} { // AllTogether is the default
			t.Run(tt.name, func(t *testing.T) {
				_, err := c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
					RegionId: dara.String(testRegion), InstanceId: stringPtrs(tt.ids), DryRun: dara.Bool(true), BatchOptimization: mode,
				}, rt())
				wantSDKError(t, err, tt.code, tt.status)
			})
		}
	}
	s := e.Stats()
	if len(s.Reboots) != 1 || s.Reboots["i-lin3"] != 1 || len(s.InstanceFailures) != 0 {
		t.Errorf("dry runs changed counters: reboots %v, instance failures %v", s.Reboots, s.InstanceFailures)
	}
	if in, _ := e.Instance("i-lin1"); in.Status != StatusRunning {
		t.Errorf("a dry run rebooted i-lin1: %+v", in)
	}
}

// ECS answers a SuccessFirst dry run with DRYRUN.SUCCESS whatever would happen.
func TestRebootInstancesSuccessFirstDryRunAlwaysSucceeds(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())
	_, err := c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: dara.String(testRegion), InstanceId: stringPtrs([]string{"i-lin1", "i-stop", "i-locked", "i-missing"}),
		DryRun: dara.Bool(true), BatchOptimization: dara.String("SuccessFirst"),
	}, rt())
	wantSDKError(t, err, "DRYRUN.SUCCESS", http.StatusBadRequest)

	// The request itself is still validated.
	_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
		RegionId: dara.String(testRegion), InstanceId: stringPtrs(genIDs(1, 101)),
		DryRun: dara.Bool(true), BatchOptimization: dara.String("SuccessFirst"),
	}, rt())
	wantSDKError(t, err, "InvalidParameter.TooManyInstanceIds", http.StatusBadRequest)

	s := e.Stats()
	if len(s.Reboots) != 0 || len(s.InstanceFailures) != 0 || s.Calls["RebootInstances"] != 2 || s.Errors["DRYRUN.SUCCESS"] != 1 {
		t.Errorf("stats = reboots %v, failures %v, calls %v, errors %v", s.Reboots, s.InstanceFailures, s.Calls, s.Errors)
	}
}
