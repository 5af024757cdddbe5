package ecs

import (
	"fmt"
	"net/url"
)

// endpoint is an override of the regional ECS endpoints (--ecs-endpoint), split the way
// openapi.Config wants it: Protocol and a bare host[:port].
type endpoint struct {
	protocol string
	host     string
}

// parseEndpoint accepts only a bare scheme://host[:port][/]: anything else (a path, a query,
// user info) would be silently dropped by the SDK, which builds its own URLs from the host.
func parseEndpoint(raw string) (*endpoint, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("ecs endpoint %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ecs endpoint %q: scheme must be http or https (e.g. http://127.0.0.1:8443)", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("ecs endpoint %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("ecs endpoint %q: only scheme://host[:port] is supported", raw)
	}
	return &endpoint{protocol: u.Scheme, host: u.Host}, nil
}
