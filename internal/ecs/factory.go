package ecs

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

const (
	// DefaultCallTimeout bounds one ECS request when FactoryOptions.CallTimeout is zero.
	DefaultCallTimeout = 30 * time.Second
	// maxConnectTimeout: a TCP/TLS handshake to ECS that takes longer is not going to succeed.
	maxConnectTimeout = 10 * time.Second
	userAgent         = "ecs-keypair-operator"
)

// FactoryOptions configure the one Factory of a manager.
type FactoryOptions struct {
	// Endpoint, e.g. "http://127.0.0.1:8443", replaces the regional ECS endpoints for every
	// call (emulators, private endpoints). Empty: the SDK's endpoint for each region.
	Endpoint string
	// QPS and Burst size the client-side budget shared per (identity, region). QPS <= 0 means
	// unlimited.
	QPS   float64
	Burst int
	// CallTimeout bounds each ECS request (and an RRSA token exchange); 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// Env reads the manager's environment for its own identity; nil means os.Getenv.
	Env func(string) string
}

// Factory hands out Clients that share one transport, one set of rate limiters and the
// manager's identity. It is safe for concurrent use; the Clients it returns are not shared.
type Factory struct {
	endpoint       *endpoint
	callTimeout    time.Duration
	connectTimeout time.Duration
	transport      *http.Transport
	limiters       *limiterSet

	// ambient is the manager's own identity, decided once; ambientErr says why there is none
	// when the environment is half-configured.
	ambient    *identity
	ambientErr error
}

var _ ClientFactory = (*Factory)(nil)

// NewFactory is the only constructor of ECS clients. It fails only on an invalid Endpoint: a
// missing or broken manager identity is reported by ForRegion, so objects that bring their
// own Secret keep working.
func NewFactory(opts FactoryOptions) (*Factory, error) {
	ep, err := parseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Env == nil {
		opts.Env = os.Getenv
	}
	f := &Factory{
		endpoint:       ep,
		callTimeout:    opts.CallTimeout,
		connectTimeout: min(opts.CallTimeout, maxConnectTimeout),
		limiters:       newLimiterSet(opts.QPS, opts.Burst),
	}
	f.transport = newTransport(f.connectTimeout, f.callTimeout)
	f.ambient, f.ambientErr = ambientIdentity(opts.Env, f.callTimeout)
	registerMetrics()
	return f, nil
}

// Identity describes the manager's own identity for a startup log line; never secret.
func (f *Factory) Identity() string {
	switch {
	case f.ambientErr != nil:
		return "invalid: " + f.ambientErr.Error()
	case f.ambient == nil:
		return "none (every object needs credentialsSecretRef)"
	}
	return f.ambient.describe
}

// ForRegion returns a Client for regionID signed with creds, or with the manager's identity
// when creds is nil. Errors are of class ClassCredentials when no usable identity exists.
func (f *Factory) ForRegion(_ context.Context, regionID string, creds *Credentials) (Client, error) {
	if regionID == "" {
		return nil, fmt.Errorf("ecs: empty region")
	}
	id, err := f.identityFor(creds)
	if err != nil {
		return nil, err
	}
	cfg := &openapiutil.Config{
		Credential:     id.credential,
		RegionId:       dara.String(regionID),
		ReadTimeout:    dara.Int(int(f.callTimeout / time.Millisecond)),
		ConnectTimeout: dara.Int(int(f.connectTimeout / time.Millisecond)),
		UserAgent:      dara.String(userAgent),
		// A client of its own per SDK client: tea's default is one pooled http.Client per
		// endpoint for the whole process, whose Timeout every call rewrites (a data race).
		HttpClient: &httpDoer{client: &http.Client{Transport: f.transport, Timeout: f.callTimeout}},
	}
	if f.endpoint != nil {
		cfg.Endpoint = dara.String(f.endpoint.host)
		cfg.Protocol = dara.String(f.endpoint.protocol)
	}
	api, err := ecsapi.NewClient(cfg)
	if err != nil {
		return nil, wrapCallError("NewClient", err)
	}
	return meteredClient{next: &sdkClient{
		api:         api,
		region:      regionID,
		limiter:     f.limiters.get(id.limitKey, regionID),
		callTimeout: f.callTimeout,
		secret:      id.secret,
	}}, nil
}

// Release forgets the rate budget of (creds' identity, region): the controller calls it when
// the last object using that pair is gone, so that a manager serving many short-lived objects
// and Secrets does not keep a budget (and a gauge series) for each forever. Only the identity
// is read from creds (nil: the manager's own).
func (f *Factory) Release(regionID string, creds *Credentials) {
	switch {
	case creds != nil:
		f.limiters.release(staticLimitKey(creds.AccessKeyID), regionID)
	case f.ambient != nil:
		f.limiters.release(f.ambient.limitKey, regionID)
	}
}

func (f *Factory) identityFor(creds *Credentials) (*identity, error) {
	if creds != nil {
		return staticIdentity(*creds, "credentials")
	}
	if f.ambientErr != nil {
		return nil, fmt.Errorf("ecs: manager identity: %w", f.ambientErr)
	}
	if f.ambient == nil {
		return nil, &localError{code: CodeNoIdentity, msg: fmt.Sprintf(
			"ecs: no credentials given and the manager has no identity: set credentialsSecretRef, "+
				"or give the manager %s/%s or RRSA (%s, %s, %s); the node's instance role is never used",
			EnvAccessKeyID, EnvAccessKeySecret, EnvRoleARN, EnvOIDCProviderARN, EnvOIDCTokenFile)}
	}
	return f.ambient, nil
}

// httpDoer lets the SDK use our http.Client. The SDK also passes a transport it built for
// this one request; ignoring it keeps connections pooled across calls and clients.
type httpDoer struct{ client *http.Client }

func (d *httpDoer) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return d.client.Do(req)
}

// newTransport is shared by every client of a factory (http.Transport is safe for concurrent
// use); proxies come from the standard environment variables, NO_PROXY included.
func newTransport(connectTimeout, callTimeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: callTimeout,
	}
}
