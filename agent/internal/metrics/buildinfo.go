package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/proctag/proctag/agent/internal/buildinfo"
)

// buildInfoDesc is the proctag_build_info gauge: always 1, the build in
// its labels, so that dashboards can join on it and see a fleet's versions.
var buildInfoDesc = prometheus.NewDesc("proctag_build_info",
	"The running proctag build: version, commit and Go version as labels; always 1.",
	[]string{"version", "commit", "go_version"}, nil)

// buildInfo is a prometheus.Collector of proctag_build_info for one build.
// It is immutable and safe for concurrent use.
type buildInfo struct{ metric prometheus.Metric }

// newBuildInfo describes info.
func newBuildInfo(info buildinfo.Info) buildInfo {
	return buildInfo{metric: prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1,
		info.Version, info.Commit, info.GoVersion)}
}

// Describe implements prometheus.Collector.
func (b buildInfo) Describe(ch chan<- *prometheus.Desc) { ch <- buildInfoDesc }

// Collect implements prometheus.Collector; unlike the tick metrics it is
// there from the first scrape.
func (b buildInfo) Collect(ch chan<- prometheus.Metric) { ch <- b.metric }
