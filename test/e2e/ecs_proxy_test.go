//go:build e2e

package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"

	. "github.com/onsi/gomega"
)

// ecsProxy passes one installation's ECS calls through to the emulator unchanged and counts
// them: the emulator counts calls per action only, and a story with several managers must tell
// which of them called ECS.
type ecsProxy struct {
	url    string
	calls  atomic.Int64
	server *httptest.Server
}

func startECSProxy() *ecsProxy {
	target, err := url.Parse(emu.url)
	Expect(err).NotTo(HaveOccurred())
	forward := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		// The SDK signs the Host it sends: the emulator must verify that one.
		r.Out.Host = r.In.Host
	}}
	p := &ecsProxy{}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		forward.ServeHTTP(w, r)
	}))
	p.url = p.server.URL
	return p
}

func (p *ecsProxy) close() {
	p.server.CloseClientConnections()
	p.server.Close()
}
