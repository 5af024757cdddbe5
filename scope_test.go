package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestParseWatchNamespaces(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr string
	}{
		{name: "empty means every namespace", value: "", want: nil},
		{name: "blank means every namespace", value: "  ", want: nil},
		{name: "one", value: "team-a", want: []string{"team-a"}},
		{name: "trimmed and sorted", value: " team-b , team-a", want: []string{"team-a", "team-b"}},
		{name: "empty entry in the middle", value: "team-a,,team-b", wantErr: `entry 2 of "team-a,,team-b" is empty`},
		{name: "trailing comma", value: "team-a,", wantErr: `entry 2 of "team-a," is empty`},
		{name: "blank entry", value: "team-a, ,team-b", wantErr: "entry 2"},
		{name: "only a comma", value: ",", wantErr: "entry 1"},
		{name: "upper case", value: "Team-A", wantErr: `"Team-A" is not a valid namespace name`},
		{name: "dot", value: "team.a", wantErr: `"team.a" is not a valid namespace name`},
		{name: "too long", value: strings.Repeat("a", 64), wantErr: "is not a valid namespace name"},
		{name: "listed twice", value: "team-a, team-a", wantErr: `namespace "team-a" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNamespaceList(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseNamespaceList(%q) error = %v, want one containing %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseNamespaceList(%q): %v", tt.value, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseNamespaceList(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

// managerOptions is what a scope sets in ctrl.Options.
type managerOptions struct {
	namespaces     map[string]cache.Config
	leaderElection bool
	leaseNamespace string
	leaseName      string
}

func TestResolveScopeSetsManagerOptions(t *testing.T) {
	tests := []struct {
		name                    string
		args                    []string
		leaderElect             bool
		leaderElectionNamespace string
		want                    managerOptions
		wantErr                 string
	}{
		{
			name: "unscoped elects on the cluster-wide Lease in kube-system without --leader-elect",
			want: managerOptions{leaderElection: true, leaseNamespace: "kube-system", leaseName: clusterLeaseID},
		},
		{
			name:        "unscoped ignores the installation's own Lease settings",
			leaderElect: true, leaderElectionNamespace: "release-a",
			want: managerOptions{leaderElection: true, leaseNamespace: "kube-system", leaseName: clusterLeaseID},
		},
		{
			name: "unscoped with another cluster-lease namespace",
			args: []string{"--cluster-lease-namespace", "operators"},
			want: managerOptions{leaderElection: true, leaseNamespace: "operators", leaseName: clusterLeaseID},
		},
		{
			name:    "unscoped refuses an empty cluster-lease namespace",
			args:    []string{"--cluster-lease-namespace", ""},
			wantErr: "--cluster-lease-namespace: a namespace name is required",
		},
		{
			name:    "unscoped refuses an invalid cluster-lease namespace",
			args:    []string{"--cluster-lease-namespace", "Kube_System"},
			wantErr: `--cluster-lease-namespace: "Kube_System" is not a valid namespace name`,
		},
		{
			name:        "scoped keeps its own Lease, in its own namespace",
			args:        []string{"--watch-namespaces", "team-b,team-a"},
			leaderElect: true, leaderElectionNamespace: "release-a",
			want: managerOptions{
				namespaces:     map[string]cache.Config{"team-a": {}, "team-b": {}},
				leaderElection: true, leaseNamespace: "release-a", leaseName: leaderElectionID,
			},
		},
		{
			name: "scoped without --leader-elect does not elect",
			args: []string{"--watch-namespaces", "team-a"},
			want: managerOptions{namespaces: map[string]cache.Config{"team-a": {}}, leaseName: leaderElectionID},
		},
		{
			name: "scoped does not need a cluster-lease namespace",
			args: []string{"--watch-namespaces", "team-a", "--cluster-lease-namespace", ""},
			want: managerOptions{namespaces: map[string]cache.Config{"team-a": {}}, leaseName: leaderElectionID},
		},
		{
			name:    "an invalid watch list is refused",
			args:    []string{"--watch-namespaces", "team-a,,team-b"},
			wantErr: "--watch-namespaces: entry 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f scopeFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			f.bind(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			s, err := resolveScope(f, tt.leaderElect, tt.leaderElectionNamespace)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveScope error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveScope: %v", err)
			}
			syncPeriod := time.Hour
			o := ctrl.Options{Cache: cache.Options{SyncPeriod: &syncPeriod}}
			s.apply(&o)
			got := managerOptions{
				namespaces:     o.Cache.DefaultNamespaces,
				leaderElection: o.LeaderElection,
				leaseNamespace: o.LeaderElectionNamespace,
				leaseName:      o.LeaderElectionID,
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("options = %+v, want %+v", got, tt.want)
			}
			if o.LeaderElectionReleaseOnCancel != o.LeaderElection {
				t.Errorf("ReleaseOnCancel %v with leader election %v: a stopped leader must hand its Lease over",
					o.LeaderElectionReleaseOnCancel, o.LeaderElection)
			}
			if o.Cache.SyncPeriod != &syncPeriod {
				t.Fatal("apply replaced cache settings that are not the scope's")
			}
		})
	}
}
