package main

import (
	"errors"
	"fmt"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// cloudFacts is what the emulator saw, checked against the promises the operator makes: every
// Running Linux instance that carried the key is rebooted exactly once and no longer carries
// it, nothing else is rebooted, stopped instances stay stopped, other keys stay where they are.
type cloudFacts struct {
	rebootedOnce, stoppedKept, otherKeysKept int
	maxConcurrent                            int
	problems                                 []error
}

// checkCloud compares the fleet before the demo (before) with the emulator now.
func checkCloud(before []ecsemu.Instance, emu *ecsemu.Emulator) cloudFacts {
	stats := emu.Stats()
	f := cloudFacts{maxConcurrent: stats.MaxConcurrentReboots}
	now := map[string]ecsemu.Instance{}
	for _, in := range emu.Instances() {
		now[in.InstanceID] = in
	}
	for _, was := range before {
		id, is := was.InstanceID, now[was.InstanceID]
		reboots := stats.Reboots[id]
		carried := was.KeyPairName == demoKeyPair && was.OSType == ecsemu.OSLinux
		switch {
		case carried && was.Status == ecsemu.StatusRunning:
			if reboots != 1 {
				f.problems = append(f.problems, fmt.Errorf("%s was rebooted %d times, want exactly once", id, reboots))
			} else {
				f.rebootedOnce++
			}
		case reboots != 0:
			f.problems = append(f.problems, fmt.Errorf("%s was rebooted %d times, want never", id, reboots))
		}
		if carried && is.KeyPairName != "" {
			f.problems = append(f.problems, fmt.Errorf("%s still carries %s", id, is.KeyPairName))
		}
		if was.Status == ecsemu.StatusStopped {
			if is.Status != ecsemu.StatusStopped {
				f.problems = append(f.problems, fmt.Errorf("%s was stopped and is now %s", id, is.Status))
			} else {
				f.stoppedKept++
			}
		}
		if was.KeyPairName != "" && was.KeyPairName != demoKeyPair {
			if is.KeyPairName != was.KeyPairName {
				f.problems = append(f.problems, fmt.Errorf("%s carried %s and now carries %q", id, was.KeyPairName, is.KeyPairName))
			} else {
				f.otherKeysKept++
			}
		}
	}
	return f
}

func (f cloudFacts) err() error {
	if len(f.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", errUnexpected, errors.Join(f.problems...))
}

func (f cloudFacts) String() string {
	return fmt.Sprintf("The emulator confirms: %d instances rebooted, each exactly once (at most %d at a time), "+
		"nothing else rebooted;\n%d stopped instances still Stopped; %d instances kept their other key pair.",
		f.rebootedOnce, f.maxConcurrent, f.stoppedKept, f.otherKeysKept)
}
