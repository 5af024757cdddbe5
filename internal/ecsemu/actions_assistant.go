package ecsemu

// maxAssistantInstances is ECS's limit of InstanceId.N per DescribeCloudAssistantStatus call.
const maxAssistantInstances = 100

// assistantClientVersion is the agent version reported for every instance whose agent runs; a
// recent one, so that SupportSessionManager is plausible.
const assistantClientVersion = "2.2.3.857"

type describeCloudAssistantStatusResponse struct {
	responseMeta
	TotalCount                      int    `json:"TotalCount"`
	PageNumber                      int    `json:"PageNumber"`
	PageSize                        int    `json:"PageSize"`
	NextToken                       string `json:"NextToken"`
	InstanceCloudAssistantStatusSet struct {
		InstanceCloudAssistantStatus []assistantStatusJSON `json:"InstanceCloudAssistantStatus"`
	} `json:"InstanceCloudAssistantStatusSet"`
}

type assistantStatusJSON struct {
	InstanceID string `json:"InstanceId"`
	// CloudAssistantStatus is the string "true" or "false", as ECS sends it.
	CloudAssistantStatus  string `json:"CloudAssistantStatus"`
	SupportSessionManager bool   `json:"SupportSessionManager"`
	OSType                string `json:"OSType"`
	CloudAssistantVersion string `json:"CloudAssistantVersion,omitempty"`
	LastHeartbeatTime     string `json:"LastHeartbeatTime,omitempty"`
}

// describeCloudAssistantStatus answers for the named instances of the region (unknown or
// other-region IDs are left out, never an error), or pages through the region with
// MaxResults/NextToken when no ID is named. ECS ignores MaxResults when IDs are given.
func (e *Emulator) describeCloudAssistantStatus(c *call) (any, *apiError) {
	ids := repeatedList(c.params, "InstanceId")
	if len(ids) > maxAssistantInstances {
		return nil, errAssistantIDsExceedLimit()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	resp := &describeCloudAssistantStatusResponse{}
	var selected []*instance
	if len(ids) > 0 {
		for _, id := range ids {
			if in := e.world.lookup(id, region); in != nil {
				selected = append(selected, in)
			}
		}
		resp.TotalCount, resp.PageNumber, resp.PageSize = len(selected), 1, len(ids)
	} else {
		var all []*instance
		for _, id := range e.world.order {
			if in := e.world.lookup(id, region); in != nil {
				all = append(all, in)
			}
		}
		size, aerr := positiveIntParam(c.params, "MaxResults", 10, 50)
		if aerr != nil {
			return nil, aerr
		}
		offset, aerr := decodeNextToken(c.params["NextToken"])
		if aerr != nil {
			return nil, aerr
		}
		end := min(offset+size, len(all))
		if offset < end {
			selected = all[offset:end]
		}
		if end < len(all) {
			resp.NextToken = encodeNextToken(end)
		}
		resp.TotalCount, resp.PageNumber, resp.PageSize = len(all), offset/size+1, size
	}
	out := make([]assistantStatusJSON, 0, len(selected))
	for _, in := range selected {
		out = append(out, assistantStatus(in, c))
	}
	resp.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus = out
	return resp, nil
}

// assistantStatus reports the agent as ECS sees it: "true" only while it sends heartbeats, which
// a Stopped instance cannot. ECS keeps "true" up to two minutes after the last heartbeat, so a
// reboot (seconds) does not interrupt it; the emulator therefore ignores reboots and reports a
// Stopped instance down at once.
func assistantStatus(in *instance, c *call) assistantStatusJSON {
	in.settle(c.now)
	up := in.assistant && in.statusAt(c.now) != StatusStopped
	st := assistantStatusJSON{InstanceID: in.id, CloudAssistantStatus: wireFalse, OSType: in.osType}
	if in.assistant {
		st.SupportSessionManager = true
		st.CloudAssistantVersion = assistantClientVersion
	}
	if up {
		st.CloudAssistantStatus = wireTrue
		st.LastHeartbeatTime = c.now.UTC().Format("2006-01-02T15:04:05Z")
	}
	return st
}
