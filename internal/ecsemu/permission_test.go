package ecsemu

import (
	"net/http"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

const (
	limitedAK     = "LTAI_LIMITED"
	limitedSecret = "limited-secret"
)

func TestDeniedActionsAnswerForbiddenRAM(t *testing.T) {
	f := testFleet()
	f.Accounts = append(f.Accounts, Account{AccessKeyID: limitedAK, AccessKeySecret: limitedSecret,
		Deny: []string{"RebootInstances", "DetachKeyPair", "AttachKeyPair"}})
	e, ep := startEmulator(t, f, WithClock(NewManualClock(fixedStart)))
	limited := newClient(t, ep, clientConfig{ak: limitedAK, secret: limitedSecret})
	region := dara.String(testRegion)
	ids := stringPtrs([]string{"i-lin1", "i-lin2"})

	denied := []struct {
		name string
		call func() error
	}{
		{"reboot", func() error {
			_, err := limited.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{RegionId: region, InstanceId: ids}, rt())
			return err
		}},
		{"AllTogether dry run", func() error {
			_, err := limited.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{RegionId: region, InstanceId: ids,
				DryRun: dara.Bool(true), BatchOptimization: dara.String("AllTogether")}, rt())
			return err
		}},
		{"SuccessFirst dry run", func() error {
			_, err := limited.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{RegionId: region, InstanceId: ids,
				DryRun: dara.Bool(true), BatchOptimization: dara.String("SuccessFirst")}, rt())
			return err
		}},
		{"detach", func() error {
			_, err := limited.DetachKeyPairWithContext(ctx(t), &ecs.DetachKeyPairRequest{RegionId: region,
				KeyPairName: dara.String(testKey), InstanceIds: jsonIDs("i-lin1")}, rt())
			return err
		}},
		{"attach", func() error {
			_, err := limited.AttachKeyPairWithContext(ctx(t), &ecs.AttachKeyPairRequest{RegionId: region,
				KeyPairName: dara.String("FinanceOther"), InstanceIds: jsonIDs("i-lin1")}, rt())
			return err
		}},
	}
	for _, d := range denied {
		t.Run(d.name, func(t *testing.T) {
			se := sdkError(t, d.call(), "Forbidden.RAM", http.StatusForbidden)
			if msg := dara.StringValue(se.Message); msg == "" {
				t.Error("no message")
			}
		})
	}

	// What the identity may do still works, and other identities are not affected.
	_, err := limited.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{RegionId: region, InstanceIds: jsonIDs("i-lin1")}, rt())
	mustNoErr(t, err, "DescribeInstances by the limited identity")
	full := newClient(t, ep, defaultClient())
	_, err = full.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{RegionId: region, InstanceId: stringPtrs([]string{"i-lin3"})}, rt())
	mustNoErr(t, err, "RebootInstances by the full identity")

	s := e.Stats()
	if s.Calls["RebootInstances"] != 4 || s.Calls["DetachKeyPair"] != 1 || s.Calls["AttachKeyPair"] != 1 || s.Errors["Forbidden.RAM"] != 5 {
		t.Errorf("calls %v, errors %v", s.Calls, s.Errors)
	}
	if len(s.Reboots) != 1 || s.Reboots["i-lin3"] != 1 {
		t.Errorf("reboots = %v", s.Reboots)
	}
	if in, _ := e.Instance("i-lin1"); in.KeyPairName != testKey || in.PendingKeyChange || in.Status != StatusRunning {
		t.Errorf("a denied call changed i-lin1: %+v", in)
	}
}
