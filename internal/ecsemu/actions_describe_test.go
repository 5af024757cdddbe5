package ecsemu

import (
	"net/http"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

func TestDescribeInstancesFilters(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	tests := []struct {
		name    string
		req     *ecs.DescribeInstancesRequest
		wantIDs []string
		total   int
	}{
		{
			name:    "by IDs, unknown and other-region IDs left out",
			req:     &ecs.DescribeInstancesRequest{InstanceIds: jsonIDs("i-win", "i-lin1", "i-missing", "i-bj")},
			wantIDs: []string{"i-lin1", "i-win"}, total: 2,
		},
		{
			name:    "key pair filter with IDs",
			req:     &ecs.DescribeInstancesRequest{InstanceIds: jsonIDs("i-lin1", "i-other", "i-nokey"), KeyPairName: dara.String(otherKey)},
			wantIDs: []string{"i-other"}, total: 1,
		},
		{
			name:    "status filter",
			req:     &ecs.DescribeInstancesRequest{Status: dara.String(StatusStopped)},
			wantIDs: []string{"i-stop"}, total: 1,
		},
		{
			name:    "other region",
			req:     &ecs.DescribeInstancesRequest{RegionId: dara.String("cn-beijing")},
			wantIDs: []string{"i-bj"}, total: 1,
		},
		{
			name:    "known region without instances",
			req:     &ecs.DescribeInstancesRequest{RegionId: dara.String("eu-west-1")},
			wantIDs: []string{}, total: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.RegionId == nil {
				tt.req.RegionId = dara.String(testRegion)
			}
			resp, err := c.DescribeInstancesWithContext(ctx(t), tt.req, rt())
			mustNoErr(t, err, "DescribeInstances")
			if got := tea.Int32Value(resp.Body.TotalCount); int(got) != tt.total {
				t.Errorf("TotalCount = %d, want %d", got, tt.total)
			}
			var got []string
			for _, in := range resp.Body.Instances.Instance {
				got = append(got, tea.StringValue(in.InstanceId))
			}
			if len(got) != len(tt.wantIDs) {
				t.Fatalf("instances = %v, want %v", got, tt.wantIDs)
			}
			for i := range got {
				if got[i] != tt.wantIDs[i] {
					t.Fatalf("instances = %v, want %v", got, tt.wantIDs)
				}
			}
		})
	}
}

func TestDescribeInstancesFields(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	_, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(start)))
	c := newClient(t, ep, defaultClient())
	resp, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
		RegionId: dara.String(testRegion), InstanceIds: jsonIDs("i-win", "i-locked", "i-nokey"),
	}, rt())
	mustNoErr(t, err, "DescribeInstances")
	byID := map[string]*ecs.DescribeInstancesResponseBodyInstancesInstance{}
	for _, in := range resp.Body.Instances.Instance {
		byID[tea.StringValue(in.InstanceId)] = in
	}
	win := byID["i-win"]
	if tea.StringValue(win.OSType) != OSWindows || tea.StringValue(win.Status) != StatusRunning ||
		tea.StringValue(win.KeyPairName) != testKey || tea.StringValue(win.RegionId) != testRegion {
		t.Errorf("i-win = %v", win)
	}
	if got := tea.StringValue(win.StartTime); got != "2026-03-03T05:06Z" {
		t.Errorf("StartTime = %q, want minute precision 2026-03-03T05:06Z (booted a day before the emulator started)", got)
	}
	if locks := byID["i-locked"].OperationLocks.LockReason; len(locks) != 1 || tea.StringValue(locks[0].LockReason) != "security" {
		t.Errorf("i-locked OperationLocks = %v", byID["i-locked"].OperationLocks)
	}
	if n := len(byID["i-nokey"].OperationLocks.LockReason); n != 0 || tea.StringValue(byID["i-nokey"].KeyPairName) != "" {
		t.Errorf("i-nokey = %v", byID["i-nokey"])
	}
}

func TestDescribeInstancesPaging(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())

	t.Run("NextToken walks every instance once", func(t *testing.T) {
		seen := map[string]bool{}
		var token *string
		pages := 0
		for {
			resp, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
				RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey),
				MaxResults: dara.Int32(40), NextToken: token,
			}, rt())
			mustNoErr(t, err, "DescribeInstances")
			pages++
			for _, in := range resp.Body.Instances.Instance {
				id := tea.StringValue(in.InstanceId)
				if seen[id] {
					t.Fatalf("%s seen twice", id)
				}
				seen[id] = true
			}
			if tea.StringValue(resp.Body.NextToken) == "" {
				break
			}
			token = resp.Body.NextToken
		}
		// 150 generated + i-lin1..3, i-stop, i-win, i-locked.
		if len(seen) != 156 || pages != 4 {
			t.Errorf("saw %d instances in %d pages, want 156 in 4", len(seen), pages)
		}
	})

	t.Run("PageNumber and PageSize", func(t *testing.T) {
		resp, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
			RegionId: dara.String(testRegion), PageSize: dara.Int32(100), PageNumber: dara.Int32(2),
		}, rt())
		mustNoErr(t, err, "DescribeInstances")
		if n, total := len(resp.Body.Instances.Instance), tea.Int32Value(resp.Body.TotalCount); n != 58 || total != 158 {
			t.Errorf("page 2 has %d of %d, want 58 of 158", n, total)
		}
		if tea.Int32Value(resp.Body.PageNumber) != 2 || tea.Int32Value(resp.Body.PageSize) != 100 {
			t.Errorf("PageNumber/PageSize = %d/%d", tea.Int32Value(resp.Body.PageNumber), tea.Int32Value(resp.Body.PageSize))
		}
	})
}

func TestDescribeInstancesErrors(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	tests := []struct {
		name   string
		req    *ecs.DescribeInstancesRequest
		code   string
		status int
	}{
		{"more than 100 IDs", &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), InstanceIds: jsonIDs(genIDs(1, 101)...)}, "InvalidInstanceIds.ValueNotSupported", http.StatusBadRequest},
		{"malformed IDs", &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), InstanceIds: dara.String("i-lin1")}, "InvalidInstanceIds.ValueNotSupported", http.StatusBadRequest},
		{"missing region", &ecs.DescribeInstancesRequest{}, "MissingParameter", http.StatusBadRequest},
		{"unknown region", &ecs.DescribeInstancesRequest{RegionId: dara.String("cn-nowhere")}, "InvalidRegionId.NotFound", http.StatusNotFound},
		{"page size too big", &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), PageSize: dara.Int32(101)}, "InvalidParameter", http.StatusBadRequest},
		{"bad next token", &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), NextToken: dara.String("garbage!")}, "InvalidParameter", http.StatusBadRequest},
		{"bad status", &ecs.DescribeInstancesRequest{RegionId: dara.String(testRegion), Status: dara.String("Sleeping")}, "InvalidParameter", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DescribeInstancesWithContext(ctx(t), tt.req, rt())
			se := sdkError(t, err, tt.code, tt.status)
			if tea.StringValue(se.Data) == "" {
				t.Error("SDK error carries no body data")
			}
		})
	}
}

func TestDescribeInstancesWith100IDs(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	resp, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
		RegionId: dara.String(testRegion), InstanceIds: jsonIDs(genIDs(1, 100)...), MaxResults: dara.Int32(100),
	}, rt())
	mustNoErr(t, err, "DescribeInstances")
	if n := len(resp.Body.Instances.Instance); n != 100 {
		t.Errorf("got %d instances, want 100", n)
	}
}

func TestDescribeInstanceStatus(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())

	resp, err := c.DescribeInstanceStatusWithContext(ctx(t), &ecs.DescribeInstanceStatusRequest{
		RegionId: dara.String(testRegion), InstanceId: stringPtrs([]string{"i-stop", "i-lin1", "i-missing"}),
	}, rt())
	mustNoErr(t, err, "DescribeInstanceStatus")
	got := map[string]string{}
	for _, s := range resp.Body.InstanceStatuses.InstanceStatus {
		got[tea.StringValue(s.InstanceId)] = tea.StringValue(s.Status)
	}
	if len(got) != 2 || got["i-stop"] != StatusStopped || got["i-lin1"] != StatusRunning {
		t.Errorf("statuses = %v", got)
	}

	resp, err = c.DescribeInstanceStatusWithContext(ctx(t), &ecs.DescribeInstanceStatusRequest{
		RegionId: dara.String(testRegion), PageSize: dara.Int32(50), PageNumber: dara.Int32(4),
	}, rt())
	mustNoErr(t, err, "DescribeInstanceStatus paged")
	if n, total := len(resp.Body.InstanceStatuses.InstanceStatus), tea.Int32Value(resp.Body.TotalCount); n != 8 || total != 158 {
		t.Errorf("page 4 has %d of %d, want 8 of 158", n, total)
	}

	_, err = c.DescribeInstanceStatusWithContext(ctx(t), &ecs.DescribeInstanceStatusRequest{
		RegionId: dara.String(testRegion), PageSize: dara.Int32(51),
	}, rt())
	wantSDKError(t, err, "InvalidParameter", http.StatusBadRequest)
}

func TestDescribeKeyPairs(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	tests := []struct {
		pattern string
		want    []string
	}{
		{"", []string{"FinanceJoshuaV26", "FinanceOther", "OpsShared2024"}},
		{"Finance*", []string{"FinanceJoshuaV26", "FinanceOther"}},
		{"*V26", []string{"FinanceJoshuaV26"}},
		{"*Shared*", []string{"OpsShared2024"}},
		{testKey, []string{testKey}},
		{"Nothing*", nil},
	}
	for _, tt := range tests {
		t.Run("pattern "+tt.pattern, func(t *testing.T) {
			req := &ecs.DescribeKeyPairsRequest{RegionId: dara.String(testRegion)}
			if tt.pattern != "" {
				req.KeyPairName = dara.String(tt.pattern)
			}
			resp, err := c.DescribeKeyPairsWithContext(ctx(t), req, rt())
			mustNoErr(t, err, "DescribeKeyPairs")
			got := make([]string, 0, len(resp.Body.KeyPairs.KeyPair))
			for _, kp := range resp.Body.KeyPairs.KeyPair {
				got = append(got, tea.StringValue(kp.KeyPairName))
				if tea.StringValue(kp.KeyPairFingerPrint) == "" || tea.StringValue(kp.CreationTime) == "" {
					t.Errorf("key pair %v lacks fingerprint or creation time", kp)
				}
			}
			if len(got) != len(tt.want) || int(tea.Int32Value(resp.Body.TotalCount)) != len(tt.want) {
				t.Fatalf("got %v (total %d), want %v", got, tea.Int32Value(resp.Body.TotalCount), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}

	resp, err := c.DescribeKeyPairsWithContext(ctx(t), &ecs.DescribeKeyPairsRequest{
		RegionId: dara.String(testRegion), PageSize: dara.Int32(2), PageNumber: dara.Int32(2),
	}, rt())
	mustNoErr(t, err, "DescribeKeyPairs paged")
	if n := len(resp.Body.KeyPairs.KeyPair); n != 1 || tea.StringValue(resp.Body.KeyPairs.KeyPair[0].KeyPairName) != otherKey {
		t.Errorf("page 2 = %v", resp.Body.KeyPairs.KeyPair)
	}

	_, err = c.DescribeKeyPairsWithContext(ctx(t), &ecs.DescribeKeyPairsRequest{}, rt())
	wantSDKError(t, err, "MissingParameter", http.StatusBadRequest)
}
