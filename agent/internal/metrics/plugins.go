package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// PluginSample is one plugin's counters, as the tick loop hands them to
// ObservePlugins: since the agent started, summed over reloads.
type PluginSample struct {
	// Plugin is the plugin's name; Tenant the tenant whose directory it
	// came from, "" for the operator's.
	Plugin, Tenant string
	// Loaded and BreakerOpen are the plugin's state now; Instances its
	// live instances.
	Loaded, BreakerOpen bool
	Instances           int
	// Calls, Records and CacheHits count export calls, records sent and
	// records answered from the cache; BudgetSkips the records put off by
	// the tick budget.
	Calls, Records, CacheHits, BudgetSkips uint64
	// CallSeconds is the time spent in calls.
	CallSeconds float64
	// Faults counts faults by kind (trap, timeout, memory, bad_output,
	// init, load, grant).
	Faults map[string]uint64
}

var (
	pluginLabels = []string{"plugin", "tenant"}
	pluginDescs  = struct {
		calls, records, hits, skips, seconds, faults, loaded, open, instances *prometheus.Desc
	}{
		calls:     prometheus.NewDesc("proctag_wasm_plugin_calls_total", "Export calls of one wasm plugin (a batch is one call).", pluginLabels, nil),
		records:   prometheus.NewDesc("proctag_wasm_plugin_records_total", "Records sent to one wasm plugin.", pluginLabels, nil),
		hits:      prometheus.NewDesc("proctag_wasm_plugin_cache_hits_total", "Records answered from the plugin's result cache.", pluginLabels, nil),
		skips:     prometheus.NewDesc("proctag_wasm_plugin_budget_skips_total", "Records put off to a later tick by the plugin's tick budget.", pluginLabels, nil),
		seconds:   prometheus.NewDesc("proctag_wasm_plugin_call_seconds_total", "Time spent in one wasm plugin's calls.", pluginLabels, nil),
		faults:    prometheus.NewDesc("proctag_wasm_plugin_faults_total", "Faults of one wasm plugin by kind.", append(slices.Clone(pluginLabels), "kind"), nil),
		loaded:    prometheus.NewDesc("proctag_wasm_plugin_loaded", "1 when a version of the plugin serves.", pluginLabels, nil),
		open:      prometheus.NewDesc("proctag_wasm_plugin_breaker_open", "1 when the plugin's circuit breaker is open or half-open.", pluginLabels, nil),
		instances: prometheus.NewDesc("proctag_wasm_plugin_instances", "Live instances of one wasm plugin.", pluginLabels, nil),
	}
)

// ObservePlugins records the newest per-plugin counters.
func (c *Collector) ObservePlugins(ps []PluginSample) {
	c.mu.Lock()
	c.plugins = slices.Clone(ps)
	c.mu.Unlock()
}

// collectPlugins emits the per-plugin metrics of ps.
func collectPlugins(ch chan<- prometheus.Metric, ps []PluginSample) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, p := range ps {
		l := []string{p.Plugin, p.Tenant}
		d := &pluginDescs
		ch <- prometheus.MustNewConstMetric(d.calls, prometheus.CounterValue, float64(p.Calls), l...)
		ch <- prometheus.MustNewConstMetric(d.records, prometheus.CounterValue, float64(p.Records), l...)
		ch <- prometheus.MustNewConstMetric(d.hits, prometheus.CounterValue, float64(p.CacheHits), l...)
		ch <- prometheus.MustNewConstMetric(d.skips, prometheus.CounterValue, float64(p.BudgetSkips), l...)
		ch <- prometheus.MustNewConstMetric(d.seconds, prometheus.CounterValue, p.CallSeconds, l...)
		ch <- prometheus.MustNewConstMetric(d.loaded, prometheus.GaugeValue, b(p.Loaded), l...)
		ch <- prometheus.MustNewConstMetric(d.open, prometheus.GaugeValue, b(p.BreakerOpen), l...)
		ch <- prometheus.MustNewConstMetric(d.instances, prometheus.GaugeValue, float64(p.Instances), l...)
		for _, kind := range slices.Sorted(maps.Keys(p.Faults)) {
			ch <- prometheus.MustNewConstMetric(d.faults, prometheus.CounterValue, float64(p.Faults[kind]), p.Plugin, p.Tenant, kind)
		}
	}
}
