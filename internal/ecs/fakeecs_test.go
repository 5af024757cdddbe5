package ecs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// fakeECS answers canned ECS bodies by action (x-acs-action) and records each request.
type fakeECS struct {
	srv     *httptest.Server
	respond func(action string, q url.Values) (int, string)

	mu   sync.Mutex
	reqs []fakeRequest
}

type fakeRequest struct {
	action string
	query  url.Values
	header http.Header
}

// newFakeECS: respond nil answers every action with an empty success.
func newFakeECS(t *testing.T, respond func(action string, q url.Values) (int, string)) *fakeECS {
	t.Helper()
	f := &fakeECS{respond: respond}
	if f.respond == nil {
		f.respond = func(string, url.Values) (int, string) { return 200, `{"RequestId":"R-OK"}` }
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := r.Header.Get("x-acs-action")
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeRequest{action: action, query: r.URL.Query(), header: r.Header.Clone()})
		f.mu.Unlock()
		status, body := f.respond(action, r.URL.Query())
		if status == 0 { // hang until the client gives up
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeECS) URL() string { return f.srv.URL }

// total returns the number of requests the fake has received, whatever their action.
func (f *fakeECS) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeECS) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

func (f *fakeECS) last() fakeRequest {
	r := f.requests()
	return r[len(r)-1]
}

// fakeRegion is the region every client of the fake is built for.
const fakeRegion = "cn-hangzhou"

// client returns a Client for fakeRegion, signed with static test keys, pointed at the fake.
func (f *fakeECS) client(t *testing.T, opts FactoryOptions) Client {
	t.Helper()
	opts.Endpoint = f.URL()
	if opts.Env == nil {
		opts.Env = envMap(nil)
	}
	fac, err := NewFactory(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fac.ForRegion(context.Background(), fakeRegion, &Credentials{AccessKeyID: "LTAI_TEST", AccessKeySecret: "test-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
