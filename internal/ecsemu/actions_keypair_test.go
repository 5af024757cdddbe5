package ecsemu

import (
	"net/http"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

type instanceResult struct{ success, code string }

func detachResults(resp *ecs.DetachKeyPairResponse) map[string]instanceResult {
	out := map[string]instanceResult{}
	for _, r := range resp.Body.Results.Result {
		out[tea.StringValue(r.InstanceId)] = instanceResult{tea.StringValue(r.Success), tea.StringValue(r.Code)}
	}
	return out
}

func TestDetachKeyPairPerInstanceResults(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	resp, err := c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey),
		InstanceIds: jsonIDs("i-lin1", "i-stop", "i-win", "i-other", "i-nokey", "i-missing", "i-locked", "i-bj"),
	}, rt())
	mustNoErr(t, err, "DetachKeyPair")
	b := resp.Body
	if tea.StringValue(b.TotalCount) != "8" || tea.StringValue(b.FailCount) != "6" || tea.StringValue(b.KeyPairName) != testKey {
		t.Errorf("TotalCount/FailCount/KeyPairName = %s/%s/%s, want 8/6/%s",
			tea.StringValue(b.TotalCount), tea.StringValue(b.FailCount), tea.StringValue(b.KeyPairName), testKey)
	}
	want := map[string]instanceResult{
		"i-lin1":    {"true", "200"},
		"i-stop":    {"true", "200"},
		"i-win":     {"false", "DependencyViolation.WindowsInstance"},
		"i-other":   {"false", CodeKeyPairNotAttached},
		"i-nokey":   {"false", CodeKeyPairNotAttached},
		"i-missing": {"false", "InvalidInstanceId.NotFound"},
		"i-locked":  {"false", "InstanceLockedForSecurity"},
		"i-bj":      {"false", "InvalidInstanceId.NotFound"},
	}
	got := detachResults(resp)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, got[id], w)
		}
	}

	for id, wantKey := range map[string]string{"i-lin1": "", "i-stop": "", "i-win": testKey, "i-other": otherKey} {
		in, _ := e.Instance(id)
		if in.KeyPairName != wantKey {
			t.Errorf("%s key = %q, want %q", id, in.KeyPairName, wantKey)
		}
		if wantPending := wantKey == ""; in.PendingKeyChange != wantPending {
			t.Errorf("%s pendingKeyChange = %v, want %v", id, in.PendingKeyChange, wantPending)
		}
	}
	if s := e.Stats(); s.Calls["DetachKeyPair"] != 1 || s.InstanceFailures[CodeKeyPairNotAttached] != 2 {
		t.Errorf("stats = %+v", s)
	}

	// Detaching again finds no key on the instance.
	resp, err = c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs("i-lin1"),
	}, rt())
	mustNoErr(t, err, "second DetachKeyPair")
	if got := detachResults(resp)["i-lin1"]; got.code != CodeKeyPairNotAttached {
		t.Errorf("second detach = %+v", got)
	}
}

func TestAttachKeyPair(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	resp, err := c.AttachKeyPairWithContext(ctx(t), &ecs.AttachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey),
		InstanceIds: jsonIDs("i-nokey", "i-other", "i-lin1", "i-win"),
	}, rt())
	mustNoErr(t, err, "AttachKeyPair")
	if tea.StringValue(resp.Body.TotalCount) != "4" || tea.StringValue(resp.Body.FailCount) != "1" {
		t.Errorf("TotalCount/FailCount = %s/%s", tea.StringValue(resp.Body.TotalCount), tea.StringValue(resp.Body.FailCount))
	}
	for _, r := range resp.Body.Results.Result {
		id, ok := tea.StringValue(r.InstanceId), tea.StringValue(r.Success) == "true"
		if wantOK := id != "i-win"; ok != wantOK {
			t.Errorf("%s: success=%v code=%s", id, ok, tea.StringValue(r.Code))
		}
	}
	for id, pending := range map[string]bool{"i-nokey": true, "i-other": true, "i-lin1": false} {
		in, _ := e.Instance(id)
		if in.KeyPairName != testKey || in.PendingKeyChange != pending {
			t.Errorf("%s = %+v, want key %s pending %v", id, in, testKey, pending)
		}
	}
}

func TestKeyPairCallErrors(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	tests := []struct {
		name   string
		req    *ecs.DetachKeyPairRequest
		code   string
		status int
	}{
		{"51 instances", &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs(genIDs(1, 51)...)}, "InstanceKeyPairLimitExceeded", http.StatusBadRequest},
		{"unknown key pair", &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String("NoSuchKey"), InstanceIds: jsonIDs("i-lin1")}, "InvalidKeyPairName.NotFound", http.StatusNotFound},
		{"key pair of another region", &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String("BeijingKey"), InstanceIds: jsonIDs("i-lin1")}, "InvalidKeyPairName.NotFound", http.StatusNotFound},
		{"no instances", &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey)}, "MissingParameter", http.StatusBadRequest},
		{"no key pair name", &ecs.DetachKeyPairRequest{RegionId: dara.String(testRegion), InstanceIds: jsonIDs("i-lin1")}, "MissingParameter", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run("detach "+tt.name, func(t *testing.T) {
			_, err := c.DetachKeyPairWithContext(ctx(t), tt.req, rt())
			wantSDKError(t, err, tt.code, tt.status)
		})
		t.Run("attach "+tt.name, func(t *testing.T) {
			_, err := c.AttachKeyPairWithContext(ctx(t), &ecs.AttachKeyPairRequest{
				RegionId: tt.req.RegionId, KeyPairName: tt.req.KeyPairName, InstanceIds: tt.req.InstanceIds,
			}, rt())
			wantSDKError(t, err, tt.code, tt.status)
		})
	}

	resp, err := c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs(genIDs(1, 50)...),
	}, rt())
	mustNoErr(t, err, "DetachKeyPair of exactly 50")
	if tea.StringValue(resp.Body.FailCount) != "0" || len(resp.Body.Results.Result) != 50 {
		t.Errorf("50-instance detach: FailCount %s, %d results", tea.StringValue(resp.Body.FailCount), len(resp.Body.Results.Result))
	}
}

func TestDetachDuringRebootIsIncorrectStatus(t *testing.T) {
	e, ep := startEmulator(t, testFleet(), WithClock(NewManualClock(fixedStart)))
	c := newClient(t, ep, defaultClient())
	_, err := c.RebootInstanceWithContext(ctx(t), &ecs.RebootInstanceRequest{InstanceId: dara.String("i-lin2")}, rt())
	mustNoErr(t, err, "RebootInstance")
	resp, err := c.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String(testKey), InstanceIds: jsonIDs("i-lin2"),
	}, rt())
	mustNoErr(t, err, "DetachKeyPair")
	if got := detachResults(resp)["i-lin2"]; got.code != "IncorrectInstanceStatus" {
		t.Errorf("detach while Stopping = %+v", got)
	}
	if in, _ := e.Instance("i-lin2"); in.KeyPairName != testKey {
		t.Errorf("key changed during reboot: %+v", in)
	}
}

// AttachKeyPair replaces a bound key on Running and Stopped instances alike (the change waits
// for the next start) and refuses Windows per instance.
func TestAttachKeyPairReplacesBoundKey(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	c := newClient(t, ep, defaultClient())
	resp, err := c.AttachKeyPairWithContext(ctx(t), &ecs.AttachKeyPairRequest{
		RegionId: dara.String(testRegion), KeyPairName: dara.String("FinanceOther"),
		InstanceIds: jsonIDs("i-lin2", "i-stop", "i-win", "i-missing"),
	}, rt())
	mustNoErr(t, err, "AttachKeyPair")
	got := map[string]instanceResult{}
	for _, r := range resp.Body.Results.Result {
		got[tea.StringValue(r.InstanceId)] = instanceResult{tea.StringValue(r.Success), tea.StringValue(r.Code)}
	}
	want := map[string]instanceResult{
		"i-lin2":    {"true", "200"},
		"i-stop":    {"true", "200"},
		"i-win":     {"false", "DependencyViolation.WindowsInstance"},
		"i-missing": {"false", "InvalidInstanceId.NotFound"},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, got[id], w)
		}
	}
	for id, key := range map[string]string{"i-lin2": "FinanceOther", "i-stop": "FinanceOther", "i-win": testKey} {
		in, _ := e.Instance(id)
		if in.KeyPairName != key || in.PendingKeyChange != (key == "FinanceOther") {
			t.Errorf("%s = %+v, want key %s", id, in, key)
		}
	}
	if in, _ := e.Instance("i-stop"); in.Status != StatusStopped {
		t.Errorf("attach started i-stop: %+v", in)
	}
	s := e.Stats()
	if s.Calls["AttachKeyPair"] != 1 || s.InstanceFailures["DependencyViolation.WindowsInstance"] != 1 || len(s.Reboots) != 0 {
		t.Errorf("stats = calls %v, failures %v, reboots %v", s.Calls, s.InstanceFailures, s.Reboots)
	}
}
