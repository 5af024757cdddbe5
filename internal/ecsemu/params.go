package ecsemu

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// idList reads a JSON-array parameter such as InstanceIds=["i-a","i-b"], dropping duplicates
// while keeping the caller's order so per-instance results line up with the request.
func idList(params map[string]string, name string) ([]string, *apiError) {
	raw, ok := params[name]
	if !ok || raw == "" {
		return nil, nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		return nil, errInvalidInstanceIDs()
	}
	return dedupe(ids), nil
}

// repeatedList reads Name.1 … Name.N, ordered by index.
func repeatedList(params map[string]string, name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	for k, v := range params {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			items = append(items, item{n, v})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return dedupe(out)
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Booleans travel as these strings, in parameters and in answers (Success, CloudAssistantStatus).
const (
	wireTrue  = "true"
	wireFalse = "false"
)

func boolParam(params map[string]string, name string) (bool, *apiError) {
	switch strings.ToLower(params[name]) {
	case "":
		return false, nil
	case wireTrue:
		return true, nil
	case wireFalse:
		return false, nil
	}
	return false, errInvalidParameter(name)
}

// positiveIntParam reads an optional integer parameter that must lie in [1, hi]; every paging
// parameter (PageNumber, PageSize, MaxResults) is one. An absent or empty parameter yields def.
func positiveIntParam(params map[string]string, name string, def, hi int) (int, *apiError) {
	raw, ok := params[name]
	if !ok || raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > hi {
		return 0, errInvalidParameter(name)
	}
	return n, nil
}

// regionParam checks a mandatory RegionId; call it with e.mu held.
func (w *world) regionParam(params map[string]string) (string, *apiError) {
	region := params["RegionId"]
	if region == "" {
		return "", errMissingParameter("RegionId")
	}
	if !w.regions[region] {
		return "", errRegionNotFound()
	}
	return region, nil
}

// page cuts items for PageNumber/PageSize paging (numbers start at 1).
func page[T any](items []T, number, size int) []T {
	start := (number - 1) * size
	if start >= len(items) {
		return nil
	}
	return items[start:min(start+size, len(items))]
}
