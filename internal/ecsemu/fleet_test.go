package ecsemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleFleet = `
accounts:
- {accessKeyId: LTAI_DEMO, accessKeySecret: demo-secret}
- {accessKeyId: STS.DEMO, accessKeySecret: s, securityToken: tok, deny: [RebootInstances, DetachKeyPair]}
keyPairs:
- {regionId: cn-hangzhou, keyPairName: FinanceJoshuaV26}
instances:
- {instanceId: i-demo001, regionId: cn-hangzhou, osType: linux, status: Running, keyPairName: FinanceJoshuaV26}
- {instanceId: i-demo002, regionId: cn-hangzhou, osType: windows, status: Stopped, lockReason: financial, cloudAssistant: false}
- {instanceId: i-demo003, regionId: cn-shanghai, keyPairName: ShanghaiKey}
generate:
- {count: 1000, prefix: i-gen, regionId: cn-hangzhou, osType: linux, status: Running, keyPairName: FinanceJoshuaV26}
- {count: 2, prefix: i-noagent, regionId: cn-hangzhou, cloudAssistant: false}
throttle: {qps: 5, burst: 10}
lifecycle: {stopping: 250ms, starting: 1s}
latency: 0s
`

func TestParseFleet(t *testing.T) {
	f, err := ParseFleet([]byte(sampleFleet))
	mustNoErr(t, err, "ParseFleet")
	if time.Duration(f.Lifecycle.Stopping) != 250*time.Millisecond || time.Duration(f.Lifecycle.Starting) != time.Second {
		t.Errorf("lifecycle = %+v", f.Lifecycle)
	}
	if f.Throttle != (Throttle{QPS: 5, Burst: 10}) || f.Accounts[1].SecurityToken != "tok" {
		t.Errorf("throttle/accounts = %+v / %+v", f.Throttle, f.Accounts)
	}
	e, err := New(f)
	mustNoErr(t, err, "New")
	all := e.Instances()
	if len(all) != 1005 {
		t.Fatalf("%d instances, want 1005", len(all))
	}

	for _, id := range []string{"i-gen0001", "i-gen0999", "i-gen1000"} {
		if in, ok := e.Instance(id); !ok || in.KeyPairName != "FinanceJoshuaV26" || in.Status != StatusRunning {
			t.Errorf("%s = %+v, %v", id, in, ok)
		}
	}
	if _, ok := e.Instance("i-gen1001"); ok {
		t.Error("i-gen1001 exists")
	}
	if in, _ := e.Instance("i-demo002"); in.OSType != OSWindows || in.Status != StatusStopped || in.LockReason != "financial" || in.KeyPairName != "" {
		t.Errorf("i-demo002 = %+v", in)
	}
	if in, _ := e.Instance("i-demo003"); in.OSType != OSLinux || in.Status != StatusRunning {
		t.Errorf("defaults not applied: %+v", in)
	}
	e.mu.Lock()
	implicit := e.world.hasKeyPair("cn-shanghai", "ShanghaiKey")
	e.mu.Unlock()
	if !implicit {
		t.Error("a key pair carried by an instance does not exist")
	}
}

func TestParseFleetCloudAssistantAndDeny(t *testing.T) {
	f, err := ParseFleet([]byte(sampleFleet))
	mustNoErr(t, err, "ParseFleet")
	if got := f.Accounts[1].Deny; len(got) != 2 || got[0] != "RebootInstances" {
		t.Errorf("deny = %v", got)
	}
	e, err := New(f)
	mustNoErr(t, err, "New")
	// The agent runs unless the fleet says otherwise, Windows included.
	for id, want := range map[string]bool{"i-demo001": true, "i-demo002": false, "i-demo003": true, "i-gen0001": true, "i-noagent1": false} {
		if in, _ := e.Instance(id); in.CloudAssistant != want {
			t.Errorf("%s cloudAssistant = %v, want %v", id, in.CloudAssistant, want)
		}
	}
}

func TestParseFleetErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown field", "instances:\n- {instanceId: i-1, regionId: r, colour: red}", "colour"},
		{"bad os", "instances:\n- {instanceId: i-1, regionId: r, osType: bsd}", "osType"},
		{"bad status", "instances:\n- {instanceId: i-1, regionId: r, status: Starting}", "status"},
		{"duplicate", "instances:\n- {instanceId: i-1, regionId: r}\n- {instanceId: i-1, regionId: r}", "duplicate"},
		{"generated clash", "instances:\n- {instanceId: i-g1, regionId: r}\ngenerate:\n- {count: 3, prefix: i-g, regionId: r}", "already"},
		{"no region", "instances:\n- {instanceId: i-1}", "regionId"},
		{"bad duration", "lifecycle: {stopping: 2}", "duration"},
		{"bad duration syntax", "latency: soon", "duration"},
		{"account without secret", "accounts:\n- {accessKeyId: A}", "accessKeySecret"},
		{"empty generate", "generate:\n- {count: 0, prefix: i-, regionId: r}", "count"},
		{"unknown denied action", "accounts:\n- {accessKeyId: A, accessKeySecret: s, deny: [RebootInstance, StopInstances]}", "StopInstances"},
		{"bad cloudAssistant", "instances:\n- {instanceId: i-1, regionId: r, cloudAssistant: maybe}", "cloudAssistant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFleet([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := LoadFleet(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("LoadFleet of a missing file succeeded")
	}
}

func TestLoadSampleFleet(t *testing.T) {
	f, err := LoadFleet(filepath.Join("..", "..", "config", "samples", "fleet.yaml"))
	mustNoErr(t, err, "LoadFleet sample")
	e, err := New(f)
	mustNoErr(t, err, "New")
	kinds := map[string]bool{}
	for _, in := range e.Instances() {
		switch {
		case in.OSType == OSWindows:
			kinds["windows"] = true
		case in.Status == StatusStopped:
			kinds["stopped"] = true
		case in.KeyPairName == "":
			kinds["no key"] = true
		case in.KeyPairName != "FinanceJoshuaV26":
			kinds["other key"] = true
		default:
			kinds["target"] = true
		}
	}
	if len(kinds) != 5 || f.Accounts[0].AccessKeyID != "LTAI_DEMO" {
		t.Errorf("sample fleet covers %v", kinds)
	}
}

func TestLargeFleetStartsFast(t *testing.T) {
	doc := "accounts:\n- {accessKeyId: A, accessKeySecret: S}\ngenerate:\n- {count: 10000, prefix: i-big, regionId: cn-hangzhou, keyPairName: K}\n"
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	mustNoErr(t, os.WriteFile(path, []byte(doc), 0o600), "write fleet")
	start := time.Now()
	f, err := LoadFleet(path)
	mustNoErr(t, err, "LoadFleet")
	e, err := New(f)
	mustNoErr(t, err, "New")
	url, stop, err := e.Start("127.0.0.1:0")
	mustNoErr(t, err, "Start")
	took := time.Since(start)
	mustNoErr(t, stop(), "stop")
	// The target is well under a second; the race detector and a shared machine get slack.
	if took > 500*time.Millisecond {
		t.Errorf("10,000-instance fleet took %v to start", took)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url = %s", url)
	}
	if in, ok := e.Instance("i-big00001"); !ok || in.KeyPairName != "K" {
		t.Errorf("i-big00001 = %+v, %v", in, ok)
	}
	if _, ok := e.Instance("i-big10000"); !ok {
		t.Error("i-big10000 missing")
	}
}

func TestNewValidatesGoFleets(t *testing.T) {
	_, err := New(Fleet{Instances: []InstanceSpec{{InstanceID: "i-1", RegionID: "r", Status: "Pending"}}})
	if err == nil {
		t.Error("New accepted status Pending")
	}
}

func TestSetInstanceKeyPairIsDrift(t *testing.T) {
	e, err := New(testFleet(), WithClock(NewManualClock(fixedStart)))
	mustNoErr(t, err, "New")
	mustNoErr(t, e.SetInstanceKeyPair("i-nokey", "BrandNewKey"), "SetInstanceKeyPair")
	in, _ := e.Instance("i-nokey")
	if in.KeyPairName != "BrandNewKey" || !in.PendingKeyChange {
		t.Errorf("after drift: %+v", in)
	}
	mustNoErr(t, e.SetLockReason("i-nokey", "security"), "SetLockReason")
	if in, _ = e.Instance("i-nokey"); in.LockReason != "security" {
		t.Errorf("lock not set: %+v", in)
	}
	if err := e.SetInstanceKeyPair("i-none", "K"); err == nil {
		t.Error("SetInstanceKeyPair accepted an unknown instance")
	}
}
