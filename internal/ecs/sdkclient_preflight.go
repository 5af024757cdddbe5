package ecs

import (
	"context"
	"fmt"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// The calls of plan mode and pre-flight (what would a run do, may this identity do it) and of
// attaching a key: reads and dry runs that never change an instance, plus AttachKeyPair.

// dryRunPassed: DRYRUN.SUCCESS is RebootInstances' answer, DryRunOperation that of the
// single-instance calls; either means the real call would have been accepted.
func dryRunPassed(err error) bool {
	return Classify(err) == ClassDryRunOK
}

func (c *sdkClient) CloudAssistantStatus(ctx context.Context, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return map[string]bool{}, nil
	}
	if len(ids) > MaxCloudAssistantIDs {
		return nil, batchTooLarge(actionCloudAssistant, len(ids), MaxCloudAssistantIDs)
	}
	wanted := make(map[string]bool, len(ids))
	for _, id := range ids {
		wanted[id] = true
	}
	// With InstanceId.N, ECS answers every named instance in one page and ignores MaxResults.
	req := &ecsapi.DescribeCloudAssistantStatusRequest{
		RegionId:   dara.String(c.region),
		InstanceId: dara.StringSlice(ids),
	}
	var resp *ecsapi.DescribeCloudAssistantStatusResponse
	err := c.call(ctx, actionCloudAssistant, func(ctx context.Context, rt *dara.RuntimeOptions) (err error) {
		resp, err = c.api.DescribeCloudAssistantStatusWithContext(ctx, req, rt)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	if resp.Body == nil || resp.Body.InstanceCloudAssistantStatusSet == nil {
		return out, nil
	}
	for _, st := range resp.Body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus {
		if st == nil {
			continue
		}
		// As in DescribeInstances, an instance nobody asked about is never reported.
		if id := dara.StringValue(st.InstanceId); wanted[id] {
			out[id] = dara.StringValue(st.CloudAssistantStatus) == "true"
		}
	}
	return out, nil
}

func (c *sdkClient) RebootDryRun(ctx context.Context, ids []string, forceStop bool) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > MaxRebootIDs {
		return batchTooLarge(actionRebootInstances, len(ids), MaxRebootIDs)
	}
	req := &ecsapi.RebootInstancesRequest{
		RegionId:    dara.String(c.region),
		InstanceId:  dara.StringSlice(ids),
		ForceReboot: dara.Bool(forceStop),
		DryRun:      dara.Bool(true),
		// With SuccessFirst ECS answers DRYRUN.SUCCESS whatever would happen; only AllTogether
		// checks every instance.
		BatchOptimization: dara.String("AllTogether"),
	}
	err := c.call(ctx, actionRebootInstances, func(ctx context.Context, rt *dara.RuntimeOptions) error {
		_, err := c.api.RebootInstancesWithContext(ctx, req, rt)
		return err
	})
	switch {
	case dryRunPassed(err):
		return nil
	case err == nil:
		// A 200 to a dry run is no permission answer at all, and may mean ECS rebooted: never
		// take it for a pass.
		return fmt.Errorf("ecs %s: ECS answered a dry run without the dry-run code", actionRebootInstances)
	}
	return err
}

func (c *sdkClient) AttachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error) {
	return c.changeKeyPair(ctx, actionAttachKeyPair, ids, func(ctx context.Context, rt *dara.RuntimeOptions, idsJSON *string) (any, error) {
		req := &ecsapi.AttachKeyPairRequest{RegionId: dara.String(c.region), KeyPairName: dara.String(keyPairName), InstanceIds: idsJSON}
		resp, err := c.api.AttachKeyPairWithContext(ctx, req, rt)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
}
