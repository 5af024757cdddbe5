package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

const (
	region    = "cn-hangzhou"
	keyPair   = "FinanceJoshuaV26"
	accessKey = "LTAI_BENCH"
	secretKey = "bench-secret"
)

// fastLifecycle keeps a reboot (3s) shorter than the manager's rollout poll (5s), so that
// rollouts are paced by the operator and not by the emulated fleet.
var fastLifecycle = ecsemu.Lifecycle{Stopping: ecsemu.Duration(time.Second), Starting: ecsemu.Duration(2 * time.Second)}

// injectedFaults are what the faulted runs face on every call: throttling and 5xx answers.
var injectedFaults = ecsemu.Faults{ThrottleRate: 0.3, ErrorRate: 0.1}

// startEmulator serves fleet, with the bench account and key pair added, on a free port.
// The faults are in force before the manager makes its first call.
func startEmulator(b *testing.B, fleet ecsemu.Fleet, faults ecsemu.Faults) (emu *ecsemu.Emulator, url string, stop func()) {
	b.Helper()
	fleet.Accounts = append(fleet.Accounts, ecsemu.Account{AccessKeyID: accessKey, AccessKeySecret: secretKey})
	fleet.KeyPairs = append(fleet.KeyPairs, ecsemu.KeyPair{RegionID: region, KeyPairName: keyPair})
	emu, err := ecsemu.New(fleet)
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.SetFaults(faults); err != nil {
		b.Fatal(err)
	}
	url, stopServer, err := emu.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return emu, url, func() { _ = stopServer() }
}

// generated is the instances a GenerateSpec of count instances with prefix creates, numbered
// from first; the IDs are the emulator's (index zero-padded to the width of count).
func generated(prefix string, count, first, n int) []string {
	width := len(strconv.Itoa(count))
	ids := make([]string, n)
	for k := range ids {
		ids[k] = fmt.Sprintf("%s%0*d", prefix, width, first+k)
	}
	return ids
}

// linuxFleet is count generated Linux instances in the bench region.
func linuxFleet(prefix string, count int, status, key string) ecsemu.GenerateSpec {
	return ecsemu.GenerateSpec{Count: count, Prefix: prefix, RegionID: region, OSType: ecsemu.OSLinux,
		Status: status, KeyPairName: key}
}
