package ecs

import "testing"

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
