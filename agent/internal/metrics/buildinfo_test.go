package metrics

import (
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proctag/proctag/agent/internal/buildinfo"
)

func TestBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		info buildinfo.Info
		want map[string]string
	}{
		{name: "release", info: buildinfo.Info{Version: "v1.2.3", Commit: "044eb46654288c604a3b29a3e2cb96fa14676a35", GoVersion: "go1.26.8"},
			want: map[string]string{"version": "v1.2.3", "commit": "044eb46654288c604a3b29a3e2cb96fa14676a35", "go_version": "go1.26.8"}},
		{name: "dev build", info: buildinfo.Info{Version: buildinfo.DevVersion, Commit: "unknown", GoVersion: "go1.26.8"},
			want: map[string]string{"version": "0.0.0-dev", "commit": "unknown", "go_version": "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(newBuildInfo(tt.info))
			labels, value := gatherOne(t, reg, "proctag_build_info")
			if !maps.Equal(labels, tt.want) || value != 1 {
				t.Errorf("proctag_build_info%v = %v, want %v = 1", labels, value, tt.want)
			}
		})
	}
}

// TestRegistryHasBuildInfo checks that /metrics carries the running
// build's gauge before any tick was observed.
func TestRegistryHasBuildInfo(t *testing.T) {
	c := New()
	labels, value := gatherOne(t, c.Registry(), "proctag_build_info")
	if want := buildinfo.Read(); labels["version"] != want.Version || labels["commit"] != want.Commit || value != 1 {
		t.Errorf("proctag_build_info%v = %v, want the running build %+v", labels, value, want)
	}
}

// gatherOne gathers reg and returns the labels and gauge value of the one
// series of name, failing unless there is exactly one.
func gatherOne(t *testing.T, reg *prometheus.Registry, name string) (map[string]string, float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("%s has %d series, want 1", name, len(f.GetMetric()))
		}
		m := f.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		return labels, m.GetGauge().GetValue()
	}
	t.Fatalf("no %s in the registry", name)
	return nil, 0
}
