package main

import (
	"slices"
	"testing"
)

func TestManagerIdentityNamespaces(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	cases := []struct {
		name    string
		flag    string
		env     map[string]string
		want    []string
		wantErr bool
	}{
		{name: "default is the Pod's namespace", env: map[string]string{envPodNamespace: "ops"}, want: []string{"ops"}},
		{name: "no flag outside a Pod grants nothing", want: nil},
		{name: "the flag replaces the default", flag: "team-a, team-b", env: map[string]string{envPodNamespace: "ops"},
			want: []string{"team-a", "team-b"}},
		{name: "an empty entry is a typo", flag: "team-a,,team-b", wantErr: true},
		{name: "a name Kubernetes refuses", flag: "Team_A", wantErr: true},
		{name: "a glob is not supported", flag: "team-*", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := managerIdentityNamespaces(c.flag, env(c.env))
			if (err != nil) != c.wantErr {
				t.Fatalf("error = %v, want error %v", err, c.wantErr)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
