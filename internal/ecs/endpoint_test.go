package ecs

import (
	"context"
	"testing"

	"github.com/alibabacloud-go/tea/dara"
)

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		raw      string
		protocol string
		host     string
		wantErr  bool
	}{
		{raw: ""},
		{raw: "http://127.0.0.1:8443", protocol: "http", host: "127.0.0.1:8443"},
		{raw: "https://ecs-vpc.cn-hangzhou.aliyuncs.com", protocol: "https", host: "ecs-vpc.cn-hangzhou.aliyuncs.com"},
		{raw: "http://[::1]:8443/", protocol: "http", host: "[::1]:8443"},
		{raw: "127.0.0.1:8443", wantErr: true},
		{raw: "localhost:8443", wantErr: true},
		{raw: "ftp://host", wantErr: true},
		{raw: "http://", wantErr: true},
		{raw: "http://host/api", wantErr: true},
		{raw: "http://host?x=1", wantErr: true},
		{raw: "http://user:pw@host", wantErr: true},
		{raw: "http://ho st", wantErr: true},
	}
	for _, tc := range cases {
		ep, err := parseEndpoint(tc.raw)
		if tc.wantErr {
			if err == nil {
				t.Errorf("parseEndpoint(%q) = %+v, want error", tc.raw, ep)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseEndpoint(%q): %v", tc.raw, err)
			continue
		}
		if tc.host == "" {
			if ep != nil {
				t.Errorf("parseEndpoint(%q) = %+v, want nil", tc.raw, ep)
			}
			continue
		}
		if ep == nil || ep.protocol != tc.protocol || ep.host != tc.host {
			t.Errorf("parseEndpoint(%q) = %+v, want %s %s", tc.raw, ep, tc.protocol, tc.host)
		}
	}
	if _, err := NewFactory(FactoryOptions{Endpoint: "127.0.0.1:8443", Env: envMap(nil)}); err == nil {
		t.Error("NewFactory accepted an endpoint without scheme")
	}
}

func TestForRegionEndpointResolution(t *testing.T) {
	creds := &Credentials{AccessKeyID: "LTAI", AccessKeySecret: "s"}
	resolve := func(override, region string) (string, string) {
		t.Helper()
		f, err := NewFactory(FactoryOptions{Endpoint: override, Env: envMap(nil)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.ForRegion(context.Background(), region, creds)
		if err != nil {
			t.Fatal(err)
		}
		api := c.(meteredClient).next.(*sdkClient).api
		return dara.StringValue(api.Endpoint), dara.StringValue(api.Protocol)
	}
	for _, tc := range []struct{ override, region, host, protocol string }{
		{"", "cn-hangzhou", "ecs-cn-hangzhou.aliyuncs.com", ""},
		{"", "cn-beijing", "ecs.cn-beijing.aliyuncs.com", ""},
		{"http://127.0.0.1:8443", "cn-beijing", "127.0.0.1:8443", "http"},
	} {
		host, protocol := resolve(tc.override, tc.region)
		if host != tc.host || protocol != tc.protocol {
			t.Errorf("%q %s: endpoint %s protocol %q, want %s %q", tc.override, tc.region, host, protocol, tc.host, tc.protocol)
		}
	}
}
