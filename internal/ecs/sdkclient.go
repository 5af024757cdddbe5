package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// ECS action names, used in errors and metric labels.
const (
	actionDescribeInstances = "DescribeInstances"
	actionDescribeKeyPairs  = "DescribeKeyPairs"
	actionDetachKeyPair     = "DetachKeyPair"
	actionRebootInstances   = "RebootInstances"
	actionAttachKeyPair     = "AttachKeyPair"
	actionCloudAssistant    = "DescribeCloudAssistantStatus"
)

const (
	describePageSize = 100 // MaxResults ceiling of DescribeInstances
	keyPairPageSize  = 50  // PageSize ceiling of DescribeKeyPairs
	// maxPages stops a paging loop that a misbehaving server would keep going forever.
	maxPages = 100
)

// sdkClient is the Client backed by the Alibaba SDK, bound to one region and identity.
//
// It is meant for one goroutine at a time, yet serialises its calls anyway: the SDK client
// mutates its own fields on every request (openapi GetRpcHeaders), so two goroutines sharing
// one would race. Separate sdkClients are independent: each owns its http.Client (tea's pooled
// default client is shared process-wide and rewritten on every call).
type sdkClient struct {
	mu          sync.Mutex
	api         *ecsapi.Client
	region      string
	limiter     *adaptiveLimiter
	callTimeout time.Duration
	secret      string
	// permit: AwaitBudget already took the next call's share of the budget.
	permit bool
}

var _ Client = (*sdkClient)(nil)

// call makes one ECS request: it first waits for the shared account budget under the
// caller's context only (queueing is not the request's fault), then bounds the request itself
// by the per-call timeout.
func (c *sdkClient) call(ctx context.Context, action string, do func(context.Context, *dara.RuntimeOptions) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.takeBudget(ctx, action); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	// A fresh RuntimeOptions each time: nil panics in the SDK, and it carries no retry
	// settings, so the SDK never retries; the controller does, with backoff.
	err := wrapCallError(action, do(ctx, &dara.RuntimeOptions{}), c.secret)
	switch {
	case IsThrottling(err):
		c.limiter.throttled()
	case err == nil, Classify(err) == ClassDryRunOK:
		// A dry run that passed is ECS answering in full: the budget held.
		c.limiter.succeeded()
	}
	return err
}

// AwaitBudget takes the next call's share of the budget now.
func (c *sdkClient) AwaitBudget(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.permit {
		return nil
	}
	if err := c.takeBudget(ctx, "AwaitBudget"); err != nil {
		return err
	}
	c.permit = true
	return nil
}

// takeBudget uses the permit AwaitBudget took, or waits for the shared budget under the
// caller's context only (queueing is not the request's fault). Call it with c.mu held.
func (c *sdkClient) takeBudget(ctx context.Context, action string) error {
	if c.permit {
		c.permit = false
		return nil
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return &localError{code: CodeNotSent, msg: fmt.Sprintf("ecs %s: waiting for the client-side rate limit", action), err: err}
	}
	return nil
}

func batchTooLarge(action string, n, limit int) error {
	return &localError{code: CodeBatchTooLarge, msg: fmt.Sprintf("ecs %s: %d instance IDs, ECS accepts at most %d per call", action, n, limit)}
}

func (c *sdkClient) DescribeInstances(ctx context.Context, ids []string) ([]Instance, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxDescribeIDs {
		return nil, batchTooLarge(actionDescribeInstances, len(ids), MaxDescribeIDs)
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	wanted := make(map[string]bool, len(ids))
	for _, id := range ids {
		wanted[id] = true
	}
	req := &ecsapi.DescribeInstancesRequest{
		RegionId:    dara.String(c.region),
		InstanceIds: dara.String(string(idsJSON)),
		MaxResults:  dara.Int32(describePageSize),
	}
	var out []Instance
	seenTokens := map[string]bool{}
	for page := 0; page < maxPages; page++ {
		var resp *ecsapi.DescribeInstancesResponse
		err := c.call(ctx, actionDescribeInstances, func(ctx context.Context, rt *dara.RuntimeOptions) (err error) {
			resp, err = c.api.DescribeInstancesWithContext(ctx, req, rt)
			return err
		})
		if err != nil {
			return nil, err
		}
		body := resp.Body
		if body == nil {
			return nil, fmt.Errorf("ecs %s: empty response", actionDescribeInstances)
		}
		if body.Instances != nil {
			for _, in := range body.Instances.Instance {
				// ECS only returns what was asked for; if it ever ignored the filter, the
				// controller must still not see (and act on) instances outside its spec.
				if in != nil && wanted[dara.StringValue(in.InstanceId)] {
					out = append(out, toInstance(in))
				}
			}
		}
		next := dara.StringValue(body.NextToken)
		if next == "" {
			return out, nil
		}
		if seenTokens[next] {
			return nil, fmt.Errorf("ecs %s: NextToken %q repeated", actionDescribeInstances, next)
		}
		seenTokens[next] = true
		req.NextToken = dara.String(next)
	}
	return nil, fmt.Errorf("ecs %s: more than %d pages", actionDescribeInstances, maxPages)
}

func toInstance(in *ecsapi.DescribeInstancesResponseBodyInstancesInstance) Instance {
	inst := Instance{
		ID:          dara.StringValue(in.InstanceId),
		Status:      dara.StringValue(in.Status),
		Windows:     strings.EqualFold(dara.StringValue(in.OSType), "windows"),
		KeyPairName: dara.StringValue(in.KeyPairName),
		StartTime:   parseStartTime(dara.StringValue(in.StartTime)),
	}
	if in.OperationLocks != nil {
		for _, l := range in.OperationLocks.LockReason {
			if l != nil && dara.StringValue(l.LockReason) != "" {
				inst.LockReasons = append(inst.LockReasons, dara.StringValue(l.LockReason))
			}
		}
	}
	return inst
}

// startTimeLayouts: ECS documents minute precision; seconds are tolerated in case an API
// version or an emulator sends them.
var startTimeLayouts = []string{"2006-01-02T15:04Z", "2006-01-02T15:04:05Z", time.RFC3339}

// parseStartTime returns the zero time for a missing or unreadable StartTime rather than
// failing the whole observation over one field.
func parseStartTime(s string) time.Time {
	for _, layout := range startTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// KeyPairExists compares names exactly: ECS treats '*' in KeyPairName as a wildcard, so the
// filter alone could match other key pairs.
func (c *sdkClient) KeyPairExists(ctx context.Context, keyPairName string) (bool, error) {
	if keyPairName == "" {
		return false, nil
	}
	req := &ecsapi.DescribeKeyPairsRequest{
		RegionId:    dara.String(c.region),
		KeyPairName: dara.String(keyPairName),
		PageSize:    dara.Int32(keyPairPageSize),
	}
	for page := int32(1); page <= maxPages; page++ {
		req.PageNumber = dara.Int32(page)
		var resp *ecsapi.DescribeKeyPairsResponse
		err := c.call(ctx, actionDescribeKeyPairs, func(ctx context.Context, rt *dara.RuntimeOptions) (err error) {
			resp, err = c.api.DescribeKeyPairsWithContext(ctx, req, rt)
			return err
		})
		if ErrorCode(err) == "InvalidKeyPairName.NotFound" {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if resp.Body == nil || resp.Body.KeyPairs == nil {
			return false, nil
		}
		pairs := resp.Body.KeyPairs.KeyPair
		for _, kp := range pairs {
			if kp != nil && dara.StringValue(kp.KeyPairName) == keyPairName {
				return true, nil
			}
		}
		if len(pairs) < keyPairPageSize || page*keyPairPageSize >= dara.Int32Value(resp.Body.TotalCount) {
			return false, nil
		}
	}
	return false, fmt.Errorf("ecs %s: more than %d pages", actionDescribeKeyPairs, maxPages)
}

func (c *sdkClient) DetachKeyPair(ctx context.Context, keyPairName string, ids []string) (BatchResult, error) {
	return c.changeKeyPair(ctx, actionDetachKeyPair, ids, func(ctx context.Context, rt *dara.RuntimeOptions, idsJSON *string) (any, error) {
		req := &ecsapi.DetachKeyPairRequest{RegionId: dara.String(c.region), KeyPairName: dara.String(keyPairName), InstanceIds: idsJSON}
		resp, err := c.api.DetachKeyPairWithContext(ctx, req, rt)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
}

// keyPairAnswer is the answer of DetachKeyPair and AttachKeyPair, which share one shape in
// distinct SDK types.
type keyPairAnswer struct {
	RequestID *string `json:"RequestId"`
	Results   *struct {
		Result []*struct {
			InstanceID *string `json:"InstanceId"`
			Success    *string `json:"Success"`
			Code       *string `json:"Code"`
			Message    *string `json:"Message"`
		} `json:"Result"`
	} `json:"Results"`
}

// changeKeyPair makes a DetachKeyPair or AttachKeyPair call: send builds and sends the request
// with the IDs as ECS wants them (a JSON array) and returns the SDK's response body, which is
// read through its own JSON names into keyPairAnswer.
func (c *sdkClient) changeKeyPair(ctx context.Context, action string, ids []string,
	send func(context.Context, *dara.RuntimeOptions, *string) (any, error)) (BatchResult, error) {
	if len(ids) == 0 {
		return BatchResult{}, nil
	}
	if len(ids) > MaxDetachIDs {
		return BatchResult{}, batchTooLarge(action, len(ids), MaxDetachIDs)
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return BatchResult{}, err
	}
	var body any
	err = c.call(ctx, action, func(ctx context.Context, rt *dara.RuntimeOptions) (err error) {
		body, err = send(ctx, rt, dara.String(string(idsJSON)))
		return err
	})
	if err != nil {
		return BatchResult{}, err
	}
	var answer keyPairAnswer
	if raw, err := json.Marshal(body); err != nil || json.Unmarshal(raw, &answer) != nil {
		return BatchResult{}, fmt.Errorf("ecs %s: unreadable answer", action)
	}
	got := map[string]InstanceResult{}
	if answer.Results != nil {
		for _, r := range answer.Results.Result {
			if r == nil {
				continue
			}
			id := dara.StringValue(r.InstanceID)
			res := InstanceResult{InstanceID: id}
			if !strings.EqualFold(dara.StringValue(r.Success), "true") {
				res.Code, res.Message = failureCode(dara.StringValue(r.Code)), dara.StringValue(r.Message)
			}
			got[id] = res
		}
	}
	return BatchResult{RequestID: dara.StringValue(answer.RequestID), Results: inRequestOrder(ids, got)}, nil
}

func (c *sdkClient) RebootInstances(ctx context.Context, ids []string, forceStop bool) (BatchResult, error) {
	if len(ids) == 0 {
		return BatchResult{}, nil
	}
	if len(ids) > MaxRebootIDs {
		return BatchResult{}, batchTooLarge(actionRebootInstances, len(ids), MaxRebootIDs)
	}
	req := &ecsapi.RebootInstancesRequest{
		RegionId:    dara.String(c.region),
		InstanceId:  dara.StringSlice(ids),
		ForceReboot: dara.Bool(forceStop),
		// AllTogether (the default) fails the whole call for one bad instance.
		BatchOptimization: dara.String("SuccessFirst"),
	}
	var resp *ecsapi.RebootInstancesResponse
	err := c.call(ctx, actionRebootInstances, func(ctx context.Context, rt *dara.RuntimeOptions) (err error) {
		resp, err = c.api.RebootInstancesWithContext(ctx, req, rt)
		return err
	})
	if err != nil {
		return BatchResult{}, err
	}
	body := resp.Body
	if body == nil {
		body = &ecsapi.RebootInstancesResponseBody{}
	}
	got := map[string]InstanceResult{}
	if body.InstanceResponses != nil {
		for _, r := range body.InstanceResponses.InstanceResponse {
			if r == nil {
				continue
			}
			id := dara.StringValue(r.InstanceId)
			res := InstanceResult{InstanceID: id}
			if code := dara.StringValue(r.Code); code != "" && code != "200" {
				res.Code, res.Message = code, dara.StringValue(r.Message)
			}
			got[id] = res
		}
	}
	return BatchResult{RequestID: dara.StringValue(body.RequestId), Results: inRequestOrder(ids, got)}, nil
}

// failureCode names a failure ECS reported without a code (or with the success code) by the
// generic server-side code, which is retryable.
func failureCode(code string) string {
	if code == "" || code == "200" {
		return "UnknownError"
	}
	return code
}

// inRequestOrder answers for exactly the requested instances: one ECS left out is reported as
// CodeNoInstanceResult rather than silently taken for a success; entries for IDs nobody asked
// about are dropped.
func inRequestOrder(ids []string, got map[string]InstanceResult) []InstanceResult {
	out := make([]InstanceResult, 0, len(ids))
	for _, id := range ids {
		r, ok := got[id]
		if !ok {
			r = InstanceResult{InstanceID: id, Code: CodeNoInstanceResult, Message: "ECS answered the batch without a result for this instance"}
		}
		out = append(out, r)
	}
	return out
}
