package ecs

import (
	"context"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// The plan-mode and attach calls go through the real SDK to the emulator here, so that the wire
// names both sides use are checked against each other.

// preflightWorld serves an emulator with a full identity and one denied reboots and attaches,
// and returns it with a client for each.
func preflightWorld(t *testing.T) (emu *ecsemu.Emulator, full, limited Client) {
	t.Helper()
	off := false
	emu, err := ecsemu.New(ecsemu.Fleet{
		Accounts: []ecsemu.Account{
			{AccessKeyID: "LTAI_FULL", AccessKeySecret: "full"},
			{AccessKeyID: "LTAI_RO", AccessKeySecret: "ro", Deny: []string{"RebootInstances", "AttachKeyPair"}},
		},
		KeyPairs: []ecsemu.KeyPair{{RegionID: fakeRegion, KeyPairName: "kp-new"}},
		Instances: []ecsemu.InstanceSpec{
			{InstanceID: "i-a", RegionID: fakeRegion, KeyPairName: "kp-old"},
			{InstanceID: "i-b", RegionID: fakeRegion, KeyPairName: "kp-old", CloudAssistant: &off},
			{InstanceID: "i-stopped", RegionID: fakeRegion, Status: ecsemu.StatusStopped, KeyPairName: "kp-old"},
			{InstanceID: "i-win", RegionID: fakeRegion, OSType: ecsemu.OSWindows},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	f, err := NewFactory(FactoryOptions{Endpoint: srv.URL, Env: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	client := func(ak, secret string) Client {
		c, err := f.ForRegion(context.Background(), fakeRegion, &Credentials{AccessKeyID: ak, AccessKeySecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return emu, client("LTAI_FULL", "full"), client("LTAI_RO", "ro")
}

func TestPreflightAgainstTheEmulator(t *testing.T) {
	emu, full, limited := preflightWorld(t)
	ctx := context.Background()

	got, err := full.CloudAssistantStatus(ctx, []string{"i-a", "i-b", "i-stopped", "i-win", "i-gone"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{"i-a": true, "i-b": false, "i-stopped": false, "i-win": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("CloudAssistantStatus = %v, want %v", got, want)
	}

	if err := full.RebootDryRun(ctx, []string{"i-a", "i-b"}, false); err != nil {
		t.Errorf("dry run of Running instances: %v", err)
	}
	if err := full.RebootDryRun(ctx, []string{"i-a", "i-stopped"}, false); ErrorCode(err) != "IncorrectInstanceStatus" || Classify(err) != ClassInstanceState {
		t.Errorf("dry run with a Stopped instance: %v", err)
	}
	if err := limited.RebootDryRun(ctx, []string{"i-a"}, false); ErrorCode(err) != "Forbidden.RAM" || Classify(err) != ClassCredentials {
		t.Errorf("dry run without permission: %v", err)
	}
	if s := emu.Stats(); len(s.Reboots) != 0 || s.Calls["RebootInstances"] != 3 || s.Calls["DescribeCloudAssistantStatus"] != 1 {
		t.Errorf("emulator saw reboots %v, calls %v", s.Reboots, s.Calls)
	}
}

func TestAttachKeyPairAgainstTheEmulator(t *testing.T) {
	emu, full, limited := preflightWorld(t)
	ctx := context.Background()

	if _, err := limited.AttachKeyPair(ctx, "kp-new", []string{"i-a"}); ErrorCode(err) != "Forbidden.RAM" {
		t.Errorf("attach without permission: %v", err)
	}
	res, err := full.AttachKeyPair(ctx, "kp-new", []string{"i-a", "i-stopped", "i-win"})
	if err != nil {
		t.Fatal(err)
	}
	want := []InstanceResult{{InstanceID: "i-a"}, {InstanceID: "i-stopped"},
		{InstanceID: "i-win", Code: "DependencyViolation.WindowsInstance", Message: "The instance creating is windows, cannot use ssh key pair to login"}}
	if !reflect.DeepEqual(res.Results, want) || res.RequestID == "" {
		t.Errorf("AttachKeyPair = %+v", res)
	}
	if _, err := full.AttachKeyPair(ctx, "kp-none", []string{"i-a"}); Classify(err) != ClassObjectTerminal {
		t.Errorf("attach of a missing key pair: %v", err)
	}
	for _, id := range []string{"i-a", "i-stopped"} {
		if in, _ := emu.Instance(id); in.KeyPairName != "kp-new" {
			t.Errorf("%s key = %q after attach", id, in.KeyPairName)
		}
	}
	if s := emu.Stats(); s.Calls["AttachKeyPair"] != 3 {
		t.Errorf("calls %v", s.Calls)
	}
}
