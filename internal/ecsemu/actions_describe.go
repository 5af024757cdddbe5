package ecsemu

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"
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
	f, aerr := e.world.parseInstanceFilter(c.params)
	if aerr != nil {
		return nil, aerr
	}
	matched := e.world.matchInstances(f, c.now)

	resp := &describeInstancesResponse{TotalCount: len(matched)}
	if usesNextToken(c.params) {
		aerr = fillTokenPage(resp, matched, c)
	} else {
		aerr = fillNumberedPage(resp, matched, c)
	}
	if aerr != nil {
		return nil, aerr
	}
	if resp.Instances.Instance == nil {
		resp.Instances.Instance = []instanceJSON{}
	}
	return resp, nil
}

// instanceFilter is what a DescribeInstances request selects by; empty fields select all.
type instanceFilter struct {
	region string
	ids    []string // nil: every instance in the region
	status string
	key    string
}

// parseInstanceFilter validates DescribeInstances' filter parameters; call it with e.mu held.
func (w *world) parseInstanceFilter(params map[string]string) (instanceFilter, *apiError) {
	region, aerr := w.regionParam(params)
	if aerr != nil {
		return instanceFilter{}, aerr
	}
	ids, aerr := idList(params, "InstanceIds")
	if aerr != nil {
		return instanceFilter{}, aerr
	}
	if len(ids) > 100 {
		return instanceFilter{}, errInvalidInstanceIDs()
	}
	status := params["Status"]
	if status != "" && !validStatuses[status] {
		return instanceFilter{}, errInvalidParameter("Status")
	}
	return instanceFilter{region: region, ids: ids, status: status, key: params["KeyPairName"]}, nil
}

// matchInstances settles and returns the instances f selects, in listing order; call it with
// e.mu held. Only the page is rendered later: a listing of a 10,000-instance fleet must not
// build 10,000 answers to send ten.
func (w *world) matchInstances(f instanceFilter, now time.Time) []*instance {
	candidates := w.order
	if f.ids != nil {
		candidates = sortedIDs(f.ids)
	}
	var matched []*instance
	for _, id := range candidates {
		in := w.lookup(id, f.region)
		if in == nil {
			continue
		}
		in.settle(now)
		if (f.status != "" && in.statusAt(now) != f.status) || (f.key != "" && in.keyPair != f.key) {
			continue
		}
		matched = append(matched, in)
	}
	return matched
}

// usesNextToken tells whether a DescribeInstances request pages by MaxResults/NextToken rather
// than by PageNumber/PageSize.
func usesNextToken(params map[string]string) bool {
	_, tokenMode := params["MaxResults"]
	return tokenMode || params["NextToken"] != ""
}

// fillTokenPage renders the page of matched that MaxResults and NextToken select.
func fillTokenPage(resp *describeInstancesResponse, matched []*instance, c *call) *apiError {
	size, aerr := positiveIntParam(c.params, "MaxResults", 10, 100)
	if aerr != nil {
		return aerr
	}
	offset, aerr := decodeNextToken(c.params["NextToken"])
	if aerr != nil {
		return aerr
	}
	end := min(offset+size, len(matched))
	if offset < end {
		resp.Instances.Instance = renderInstances(matched[offset:end], c)
	}
	if end < len(matched) {
		resp.NextToken = encodeNextToken(end)
	}
	resp.PageSize, resp.PageNumber = size, offset/size+1
	return nil
}

// fillNumberedPage renders the page of matched that PageNumber and PageSize select.
func fillNumberedPage(resp *describeInstancesResponse, matched []*instance, c *call) *apiError {
	number, aerr := positiveIntParam(c.params, "PageNumber", 1, 1<<30)
	if aerr != nil {
		return aerr
	}
	size, aerr := positiveIntParam(c.params, "PageSize", 10, 100)
	if aerr != nil {
		return aerr
	}
	resp.Instances.Instance = renderInstances(page(matched, number, size), c)
	resp.PageSize, resp.PageNumber = size, number
	return nil
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
	number, aerr := positiveIntParam(c.params, "PageNumber", 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := positiveIntParam(c.params, "PageSize", 10, 50)
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
	number, aerr := positiveIntParam(c.params, "PageNumber", 1, 1<<30)
	if aerr != nil {
		return nil, aerr
	}
	size, aerr := positiveIntParam(c.params, "PageSize", 10, 50)
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
