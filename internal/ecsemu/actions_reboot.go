package ecsemu

// maxRebootInstances is ECS's limit of instances per RebootInstances call.
const maxRebootInstances = 100

// RebootInstances' BatchOptimization modes; AllTogether is the default.
const (
	allTogether  = "AllTogether"
	successFirst = "SuccessFirst"
)

type rebootInstanceResponse struct {
	responseMeta
}

type rebootInstancesResponse struct {
	responseMeta
	InstanceResponses struct {
		InstanceResponse []rebootResult `json:"InstanceResponse"`
	} `json:"InstanceResponses"`
}

type rebootResult struct {
	InstanceID     string `json:"InstanceId"`
	Code           string `json:"Code"`
	Message        string `json:"Message"`
	PreviousStatus string `json:"PreviousStatus"`
	CurrentStatus  string `json:"CurrentStatus"`
}

func (e *Emulator) rebootInstance(c *call) (any, *apiError) {
	id := c.params["InstanceId"]
	if id == "" {
		return nil, errMissingParameter("InstanceId")
	}
	force, aerr := boolParam(c.params, "ForceStop")
	if aerr != nil {
		return nil, aerr
	}
	dryRun, aerr := boolParam(c.params, "DryRun")
	if aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// RebootInstance has no RegionId: the endpoint picks the region, and the emulator serves all.
	in, aerr := e.rebootable(id, c.params["RegionId"], c)
	if aerr != nil {
		return nil, aerr
	}
	if dryRun {
		return nil, errDryRunOperation()
	}
	e.performReboot(in, force, c)
	return &rebootInstanceResponse{}, nil
}

func (e *Emulator) rebootInstances(c *call) (any, *apiError) {
	ids := repeatedList(c.params, "InstanceId")
	if len(ids) == 0 {
		return nil, errMissingParameter("InstanceId.N")
	}
	if len(ids) > maxRebootInstances {
		return nil, errTooManyInstanceIDs()
	}
	mode := c.params["BatchOptimization"]
	if mode != "" && mode != allTogether && mode != successFirst {
		return nil, errInvalidParameter("BatchOptimization")
	}
	force, aerr := boolParam(c.params, "ForceReboot")
	if aerr != nil {
		return nil, aerr
	}
	dryRun, aerr := boolParam(c.params, "DryRun")
	if aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	// ECS answers a SuccessFirst dry run with DRYRUN.SUCCESS whatever would happen (ecs-api.md),
	// and so does the emulator: only AllTogether makes a dry run a real pre-flight.
	if dryRun && mode == successFirst {
		return nil, errDryRunSuccess()
	}

	results := make([]rebootResult, len(ids))
	targets := make([]*instance, len(ids))
	for i, id := range ids {
		in, ierr := e.rebootable(id, region, c)
		if ierr != nil {
			// AllTogether is all or nothing: the first bad instance fails the whole call.
			if mode != successFirst {
				return nil, ierr
			}
			prev := ""
			if in != nil {
				prev = in.statusAt(c.now)
			}
			results[i] = rebootResult{InstanceID: id, Code: ierr.code, Message: ierr.message, PreviousStatus: prev, CurrentStatus: prev}
			c.failures = append(c.failures, ierr.code)
			continue
		}
		targets[i] = in
	}
	if dryRun {
		// AllTogether got here only if every instance would reboot.
		return nil, errDryRunSuccess()
	}
	for i, in := range targets {
		if in == nil {
			continue
		}
		e.performReboot(in, force, c)
		results[i] = rebootResult{
			InstanceID: in.id, Code: "200", Message: "success",
			PreviousStatus: StatusRunning, CurrentStatus: in.statusAt(c.now),
		}
	}
	resp := &rebootInstancesResponse{}
	resp.InstanceResponses.InstanceResponse = results
	return resp, nil
}

// rebootable checks that an instance exists in the region and may be rebooted now; call it with
// e.mu held. The instance is returned with the error when it exists, for its current status.
func (e *Emulator) rebootable(id, region string, c *call) (*instance, *apiError) {
	in := e.world.lookup(id, region)
	if in == nil {
		return nil, errInstanceNotFound()
	}
	in.settle(c.now)
	if in.lockReason != "" {
		return in, errLocked(in.lockReason)
	}
	if in.statusAt(c.now) != StatusRunning {
		return in, errIncorrectStatus()
	}
	return in, nil
}

// performReboot starts the reboot and counts it; call it with e.mu held.
func (e *Emulator) performReboot(in *instance, force bool, c *call) {
	inFlight := e.world.beginReboot(in, c.now, e.lifecycle)
	e.stats.update(func(s *Stats) {
		s.Reboots[in.id]++
		s.MaxConcurrentReboots = max(s.MaxConcurrentReboots, inFlight)
		if force {
			s.ForceReboots++
		}
	})
}
