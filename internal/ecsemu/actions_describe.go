package ecsemu

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// startTimeLayout is ECS's minute-precision timestamp (StartTime, CreationTime).
const startTimeLayout = "2006-01-02T15:04Z"

// validStatuses are the values DescribeInstances accepts as a Status filter.
var validStatuses = map[string]bool{
	"Pending": true, StatusRunning: true, StatusStarting: true, StatusStopping: true, StatusStopped: true,
}

type describeInstancesResponse struct {
	responseMeta
	TotalCount int               `json:"TotalCount"`
	PageNumber int               `json:"PageNumber"`
	PageSize   int               `json:"PageSize"`
	NextToken  string            `json:"NextToken"`
	Instances  instancesEnvelope `json:"Instances"`
}

type instancesEnvelope struct {
	Instance []instanceJSON `json:"Instance"`
}

type instanceJSON struct {
	InstanceID     string         `json:"InstanceId"`
	InstanceName   string         `json:"InstanceName"`
	RegionID       string         `json:"RegionId"`
	Status         string         `json:"Status"`
	OSType         string         `json:"OSType"`
	KeyPairName    string         `json:"KeyPairName"`
	StartTime      string         `json:"StartTime"`
	OperationLocks operationLocks `json:"OperationLocks"`
}

type operationLocks struct {
	LockReason []lockReason `json:"LockReason"`
}

type lockReason struct {
	LockReason string `json:"LockReason"`
	LockMsg    string `json:"LockMsg,omitempty"`
}

func (e *Emulator) describeInstances(c *call) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	ids, aerr := idList(c.params, "InstanceIds")
	if aerr != nil {
		return nil, aerr
	}
	if len(ids) > 100 {
		return nil, errInvalidInstanceIDs()
	}
	status := c.params["Status"]
	if status != "" && !validStatuses[status] {
		return nil, errInvalidParameter("Status")
	}
	key := c.params["KeyPairName"]

	candidates := e.world.order
	if ids != nil {
		candidates = sortedIDs(ids)
	}
	// Only the page is rendered: a listing of a 10,000-instance fleet must not build 10,000
	// answers to send ten.
	var matched []*instance
	for _, id := range candidates {
		in := e.world.lookup(id, region)
		if in == nil {
			continue
		}
		in.settle(c.now)
		if (status != "" && in.statusAt(c.now) != status) || (key != "" && in.keyPair != key) {
			continue
		}
		matched = append(matched, in)
	}

	resp := &describeInstancesResponse{TotalCount: len(matched)}
	_, tokenMode := c.params["MaxResults"]
	if c.params["NextToken"] != "" {
		tokenMode = true
	}
	if tokenMode {
		size, aerr := intParam(c.params, "MaxResults", 10, 1, 100)
		if aerr != nil {
			return nil, aerr
		}
		offset, aerr := decodeNextToken(c.params["NextToken"])
		if aerr != nil {
			return nil, aerr
		}
		end := min(offset+size, len(matched))
		if offset < end {
			resp.Instances.Instance = renderInstances(matched[offset:end], c)
		}
		if end < len(matched) {
			resp.NextToken = encodeNextToken(end)
		}
		resp.PageSize, resp.PageNumber = size, offset/size+1
	} else {
		number, aerr := intParam(c.params, "PageNumber", 1, 1, 1<<30)
		if aerr != nil {
			return nil, aerr
		}
		size, aerr := intParam(c.params, "PageSize", 10, 1, 100)
		if aerr != nil {
			return nil, aerr
		}
		resp.Instances.Instance = renderInstances(page(matched, number, size), c)
		resp.PageSize, resp.PageNumber = size, number
	}
	if resp.Instances.Instance == nil {
		resp.Instances.Instance = []instanceJSON{}
	}
	return resp, nil
}

func renderInstances(ins []*instance, c *call) []instanceJSON {
	out := make([]instanceJSON, len(ins))
	for i, in := range ins {
		out[i] = instanceToJSON(in, in.statusAt(c.now))
	}
	return out
}

func instanceToJSON(in *instance, status string) instanceJSON {
	locks := []lockReason{}
	if in.lockReason != "" {
		locks = append(locks, lockReason{LockReason: in.lockReason})
	}
	return instanceJSON{
		InstanceID: in.id, InstanceName: in.id, RegionID: in.region, Status: status,
		OSType: in.osType, KeyPairName: in.keyPair,
		StartTime:      in.startTime.UTC().Format(startTimeLayout),
		OperationLocks: operationLocks{LockReason: locks},
	}
}

// sortedIDs copies ids in fleet order, so every listing has one stable order for paging.
func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

// NextToken is opaque to clients; it carries the offset of the next page.
func encodeNextToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("ecsemu:" + strconv.Itoa(offset)))
}

func decodeNextToken(tok string) (int, *apiError) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, errInvalidParameter("NextToken")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "ecsemu:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(raw), "ecsemu:") {
		return 0, errInvalidParameter("NextToken")
	}
	return n, nil
}

type describeInstanceStatusResponse struct {
	responseMeta
	TotalCount       int `json:"TotalCount"`
	PageNumber       int `json:"PageNumber"`
	PageSize         int `json:"PageSize"`
	InstanceStatuses struct {
		InstanceStatus []instanceStatusJSON `json:"InstanceStatus"`
	} `json:"InstanceStatuses"`
}

type instanceStatusJSON struct {
	InstanceID string `json:"InstanceId"`
	Status     string `json:"Status"`
}

func (e *Emulator) describeInstanceStatus(c *call) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	ids := repeatedList(c.params, "InstanceId")
	if len(ids) > 100 {
		return nil, errTooManyInstanceIDs()
	}
	number, aerr := intParam(c.params, "PageNumber", 1, 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := intParam(c.params, "PageSize", 10, 1, 50)
	if aerr != nil {
		return nil, aerr
	}
	candidates := e.world.order
	if len(ids) > 0 {
		candidates = sortedIDs(ids)
	}
	var all []instanceStatusJSON
	for _, id := range candidates {
		if in := e.world.lookup(id, region); in != nil {
			in.settle(c.now)
			all = append(all, instanceStatusJSON{InstanceID: in.id, Status: in.statusAt(c.now)})
		}
	}
	resp := &describeInstanceStatusResponse{TotalCount: len(all), PageNumber: number, PageSize: size}
	resp.InstanceStatuses.InstanceStatus = append([]instanceStatusJSON{}, page(all, number, size)...)
	return resp, nil
}

type describeKeyPairsResponse struct {
	responseMeta
	TotalCount int `json:"TotalCount"`
	PageNumber int `json:"PageNumber"`
	PageSize   int `json:"PageSize"`
	KeyPairs   struct {
		KeyPair []keyPairJSON `json:"KeyPair"`
	} `json:"KeyPairs"`
}

type keyPairJSON struct {
	KeyPairName        string `json:"KeyPairName"`
	KeyPairFingerPrint string `json:"KeyPairFingerPrint"`
	CreationTime       string `json:"CreationTime"`
	ResourceGroupID    string `json:"ResourceGroupId"`
}

func (e *Emulator) describeKeyPairs(c *call) (any, *apiError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	region, aerr := e.world.regionParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	number, aerr := intParam(c.params, "PageNumber", 1, 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := intParam(c.params, "PageSize", 10, 1, 50)
	if aerr != nil {
		return nil, aerr
	}
	pattern := c.params["KeyPairName"]
	byName := e.world.keyPairs[region]
	var all []keyPairJSON
	for _, name := range sortedKeys(byName) {
		if pattern != "" && !wildcardMatch(pattern, name) {
			continue
		}
		kp := byName[name]
		all = append(all, keyPairJSON{
			KeyPairName: kp.name, KeyPairFingerPrint: kp.fingerprint,
			CreationTime: kp.created.UTC().Format(startTimeLayout),
		})
	}
	resp := &describeKeyPairsResponse{TotalCount: len(all), PageNumber: number, PageSize: size}
	resp.KeyPairs.KeyPair = append([]keyPairJSON{}, page(all, number, size)...)
	return resp, nil
}

// wildcardMatch matches name against a pattern in which '*' stands for any run of characters,
// the only wildcard DescribeKeyPairs knows.
func wildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}
