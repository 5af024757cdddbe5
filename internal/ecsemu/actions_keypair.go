package ecsemu

import "strconv"

// maxKeyPairInstances is ECS's limit of instances per AttachKeyPair/DetachKeyPair call.
const maxKeyPairInstances = 50

type keyPairResultsResponse struct {
	responseMeta
	KeyPairName string `json:"KeyPairName"`
	// The counts are strings on the wire, as the SDK's structs declare them.
	TotalCount string `json:"TotalCount"`
	FailCount  string `json:"FailCount"`
	Results    struct {
		Result []keyPairResult `json:"Result"`
	} `json:"Results"`
}

type keyPairResult struct {
	InstanceID string `json:"InstanceId"`
	Success    string `json:"Success"`
	Code       string `json:"Code"`
	Message    string `json:"Message"`
}

func (e *Emulator) detachKeyPair(c *call) (any, *apiError) {
	return e.changeKeyPair(c, false)
}

func (e *Emulator) attachKeyPair(c *call) (any, *apiError) {
	return e.changeKeyPair(c, true)
}

// changeKeyPair answers per instance: one bad instance never fails the call, only a bad request
// (region, key pair, ID list) does.
func (e *Emulator) changeKeyPair(c *call, attach bool) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	key := c.params["KeyPairName"]
	if key == "" {
		return nil, errMissingParameter("KeyPairName")
	}
	ids, aerr := idList(c.params, "InstanceIds")
	if aerr != nil {
		return nil, aerr
	}
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceIds")
	}
	if len(ids) > maxKeyPairInstances {
		return nil, errKeyPairLimit()
	}
	if !e.world.hasKeyPair(region, key) {
		return nil, errKeyPairNotFound()
	}

	resp := &keyPairResultsResponse{KeyPairName: key}
	fails := 0
	for _, id := range ids {
		res := keyPairResult{InstanceID: id, Success: wireTrue, Code: "200", Message: "successful"}
		if ferr := e.changeOne(id, region, key, attach, c); ferr != nil {
			res.Success, res.Code, res.Message = wireFalse, ferr.code, ferr.message
			c.failures = append(c.failures, ferr.code)
			fails++
		}
		resp.Results.Result = append(resp.Results.Result, res)
	}
	resp.TotalCount = strconv.Itoa(len(ids))
	resp.FailCount = strconv.Itoa(fails)
	return resp, nil
}

func (e *Emulator) changeOne(id, region, key string, attach bool, c *call) *apiError {
	in := e.world.lookup(id, region)
	if in == nil {
		return errInstanceNotFound()
	}
	if in.osType == OSWindows {
		return errWindows()
	}
	if in.lockReason != "" {
		return errLocked(in.lockReason)
	}
	in.settle(c.now)
	// ECS changes keys only on instances at rest; a reboot in progress must finish first.
	if st := in.statusAt(c.now); st != StatusRunning && st != StatusStopped {
		return errIncorrectStatus()
	}
	switch {
	case attach && in.keyPair == key:
		// Attaching the key an instance already carries changes nothing.
	case attach:
		// ECS replaces an instance's key pair on attach; the new one takes effect at next start.
		in.keyPair, in.pending = key, true
	case in.keyPair != key:
		return errKeyPairNotAttached()
	default:
		in.keyPair, in.pending = "", true
	}
	return nil
}
