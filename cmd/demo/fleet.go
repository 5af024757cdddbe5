package main

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecsemu"
)

// demoFleetYAML is the emulator's starting world: 330 instances in cn-hangzhou.
//
//go:embed demo-fleet.yaml
var demoFleetYAML []byte

const (
	demoRegion    = "cn-hangzhou"
	demoKeyPair   = "FinanceJoshuaV26"
	demoNamespace = "platform"
	demoSecret    = "ecs-credentials"
)

// objectPlan is one KeyPairDetachment the demo applies: the instances whose IDs start with one
// of prefixes, plus IDs that exist nowhere.
type objectPlan struct {
	name          string
	story         string
	prefixes      []string
	missing       []string
	maxConcurrent int32
	// wantReady is the honest end state: Ready=True, or Ready=False/PartiallyFailed with
	// Stalled=True because the list names instances a human must look at.
	wantReady bool
}

var demoPlans = []objectPlan{
	{
		name:          "retire-finance-key",
		story:         "280 Linux instances: 240 running with the key, 20 stopped with it, 20 without it",
		prefixes:      []string{"i-bp1web", "i-bp1batch", "i-bp1new"},
		maxConcurrent: 20,
		wantReady:     true,
	},
	{
		name: "retire-finance-key-cmdb",
		story: "52 IDs exported from an old CMDB: 30 Linux with the key, 12 Windows, " +
			"8 bastions on another key, 2 released long ago",
		prefixes:      []string{"i-bp1api", "i-bp1win", "i-bp1ops"},
		missing:       []string{"i-bp1gone01", "i-bp1gone02"},
		maxConcurrent: 10,
		wantReady:     false,
	},
}

// demoFleet parses the embedded fleet.
func demoFleet() (ecsemu.Fleet, error) {
	f, err := ecsemu.ParseFleet(demoFleetYAML)
	if err != nil {
		return ecsemu.Fleet{}, fmt.Errorf("embedded demo fleet: %w", err)
	}
	if len(f.Accounts) == 0 {
		return ecsemu.Fleet{}, fmt.Errorf("embedded demo fleet has no account")
	}
	return f, nil
}

// instanceIDs returns the plan's instance IDs, in the fleet's order, then the missing ones.
func (p objectPlan) instanceIDs(fleet []ecsemu.Instance) []string {
	var ids []string
	for _, in := range fleet {
		for _, prefix := range p.prefixes {
			if strings.HasPrefix(in.InstanceID, prefix) {
				ids = append(ids, in.InstanceID)
				break
			}
		}
	}
	return append(ids, p.missing...)
}
