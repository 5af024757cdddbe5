package ecsemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds what the emulator reads from a request; ECS RPC bodies are tiny.
const maxBody = 1 << 20

// errClientGone marks a call whose client hung up while it waited out the latency.
var errClientGone = newAPIError(0, "", "")

// call is one authenticated API request on its way through an action.
type call struct {
	caller
	now time.Time
	// failures collects per-instance failure codes, counted once the answer is known.
	failures []string
}

type actionFunc func(e *Emulator, c *call) (any, *apiError)

// actions is the API surface; anything else is InvalidAction.NotFound.
var actions = map[string]actionFunc{
	"DescribeInstances":            (*Emulator).describeInstances,
	"DescribeInstanceStatus":       (*Emulator).describeInstanceStatus,
	"DescribeKeyPairs":             (*Emulator).describeKeyPairs,
	"DescribeCloudAssistantStatus": (*Emulator).describeCloudAssistantStatus,
	"DetachKeyPair":                (*Emulator).detachKeyPair,
	"AttachKeyPair":                (*Emulator).attachKeyPair,
	"RebootInstance":               (*Emulator).rebootInstance,
	"RebootInstances":              (*Emulator).rebootInstances,
}

// Handler returns the emulator's HTTP handler: the ECS API on every path, and the unsigned admin
// endpoints under /_emulator/.
func (e *Emulator) Handler() http.Handler {
	return http.HandlerFunc(e.serveHTTP)
}

// Start serves the emulator on addr ("127.0.0.1:0" picks a free port). It returns the base URL
// (http://HOST:PORT) once the listener is bound, and a stop function that shuts the server down.
func (e *Emulator) Start(addr string) (string, func() error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
			return fmt.Errorf("shut down emulator: %w", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve emulator: %w", err)
		}
		return nil
	}
	return "http://" + ln.Addr().String(), stop, nil
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		e.serveAdmin(w, r)
		return
	}
	requestID := e.ids.next()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		// The client went away mid-body; there is no one to answer.
		return
	}
	who, aerr := e.authenticate(r, body)
	if aerr != nil {
		e.stats.update(func(s *Stats) { s.Rejected[aerr.code]++ })
		writeError(w, r, aerr, requestID)
		return
	}
	dryRun, _ := boolParam(who.params, "DryRun")
	e.stats.update(func(s *Stats) {
		s.Calls[who.action]++
		if dryRun {
			s.DryRuns[who.action]++
		}
	})
	resp, aerr, dropped := e.dispatch(r, &call{caller: *who})
	switch {
	case dropped:
		e.stats.update(func(s *Stats) { s.Dropped++ })
		dropConnection(w)
	case aerr == errClientGone:
		return
	case aerr != nil:
		e.stats.update(func(s *Stats) { s.Errors[aerr.code]++ })
		writeError(w, r, aerr, requestID)
	default:
		writeJSON(w, http.StatusOK, requestID, withRequestID(resp, requestID))
	}
}

// dispatch runs everything after authentication in the order a client would notice it: routing,
// latency, injected faults, the throttling budget, then the action itself.
func (e *Emulator) dispatch(r *http.Request, c *call) (any, *apiError, bool) {
	if c.version != apiVersion {
		return nil, errInvalidVersion(), false
	}
	act, ok := actions[c.action]
	if !ok {
		return nil, errActionNotFound(), false
	}
	faults := e.Faults()
	e.mu.Lock()
	delay := e.latency + faults.Latency
	e.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil, errClientGone, false
		}
	}
	switch kind, aerr := faults.roll(); kind {
	case faultDrop:
		return nil, nil, true
	case faultThrottle, faultError:
		return nil, aerr, false
	}
	c.now = e.clock.Now()
	if !e.throttle.allow(throttleKey{c.accessKey, e.regionOf(c.params), c.action}, c.now) {
		return nil, errThrottled(), false
	}
	// RAM decides before the action looks at the request, so a dry run is refused too: that is
	// what a permission pre-flight relies on.
	if e.denied[c.accessKey][c.action] {
		return nil, errForbiddenRAM(), false
	}
	resp, aerr := act(e, c)
	if len(c.failures) > 0 {
		e.stats.update(func(s *Stats) {
			for _, code := range c.failures {
				s.InstanceFailures[code]++
			}
		})
	}
	return resp, aerr, false
}

// regionOf is the region a call is budgeted under: its RegionId, or for RebootInstance (which
// has none, the endpoint decides) the region of the instance it names.
func (e *Emulator) regionOf(params map[string]string) string {
	if r := params["RegionId"]; r != "" {
		return r
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if in := e.world.instances[params["InstanceId"]]; in != nil {
		return in.region
	}
	return ""
}

// withRequestID stamps the answer's RequestId; every response type embeds responseMeta.
func withRequestID(resp any, id string) any {
	if m, ok := resp.(interface{ setRequestID(string) }); ok {
		m.setRequestID(id)
	}
	return resp
}

type responseMeta struct {
	RequestID string `json:"RequestId"`
}

func (m *responseMeta) setRequestID(id string) { m.RequestID = id }

func writeError(w http.ResponseWriter, r *http.Request, e *apiError, requestID string) {
	writeJSON(w, e.status, requestID, newErrorBody(e, requestID, r.Host))
}

func writeJSON(w http.ResponseWriter, status int, requestID string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	if requestID != "" {
		h.Set("x-acs-request-id", requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// dropConnection closes the connection without a byte of response, as a load balancer losing a
// backend would. Without a hijackable connection (HTTP/2), aborting the handler does the same.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
