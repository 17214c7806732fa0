package runner

import (
	"context"
	"strings"
	"time"

	"github.com/proctag/proctag/agent/internal/metrics"
	"github.com/proctag/proctag/agent/internal/pipeline"
	"github.com/proctag/proctag/agent/internal/wasmhost"
	"github.com/proctag/proctag/agent/snapshot"
)

// stepPublish labels the publisher's step in the metrics, beside the
// pipeline's steps.
const stepPublish = "publish"

// tick runs one pipeline tick and hands the result to the publisher; an
// error is logged once per distinct message and the loop goes on. The
// tick's steps go to the metrics whether it failed or not. extra marks a
// tick woken by process events (see Pipeline.TickExtra).
func (l *loop) tick(ctx context.Context, parts *Parts, extra bool) {
	start := time.Now()
	tick := parts.Pipeline.Tick
	if extra {
		tick = parts.Pipeline.TickExtra
	}
	snap, st, err := tick(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		l.metrics.ObserveSteps(metricSteps(st.Steps, false))
		if msg := err.Error(); msg != l.lastErr {
			l.logger.Error("tick failed", "error", err)
			l.lastErr = msg
		}
		return
	}
	l.lastErr = ""
	l.ticks++
	scan, _ := st.Step(pipeline.StepScan)
	stats := snapshot.Stats{
		ScanMicros:    scan.Duration.Microseconds(),
		Processes:     st.Reported,
		Sockets:       st.Sockets,
		ProcessesSeen: st.Processes,
		Ticks:         l.ticks,
		RSSBytes:      selfRSS(),
	}
	var samples []metrics.PluginSample
	if parts.Plugins != nil {
		for _, ps := range parts.Plugins.Stats().Plugins {
			stats.PluginCalls += ps.Calls
			for _, n := range ps.Faults {
				stats.PluginFaults += n
			}
			samples = append(samples, pluginSample(ps))
		}
	}
	// A plugin fault in this tick fails the plugins step; the counts are
	// totals since start (a reload may lower them).
	pluginsOK := stats.PluginFaults <= l.pluginFaults
	l.pluginFaults = stats.PluginFaults
	tickTime := time.Since(start)
	stats.TickMicros = tickTime.Microseconds()
	l.pub.Submit(snap, stats)
	l.pub.AddCounters(&stats)
	l.metrics.ObserveTick(metrics.Tick{
		Steps:     metricSteps(st.Steps, pluginsOK),
		Duration:  tickTime,
		Processes: st.Reported, ProcessesSeen: st.Processes, Sockets: st.Sockets,
		TablesSockDiag: st.TablesSockDiag, TablesProcNet: st.TablesProcNet, Woken: extra,
	})
	l.metrics.ObservePublisher(metrics.Publisher{
		Bytes: stats.PublishedBytes, Messages: stats.PublishedMessages, Errors: stats.PublishErrors,
		Reconnects: stats.Reconnects, ResyncRequests: stats.ResyncRequests,
	})
	l.metrics.ObservePlugins(samples)
	if l.logger.IsDebug() {
		l.logger.Debug("tick", "processes", st.Reported, "sockets", st.Sockets, "scan", scan.Duration, "tick", tickTime, "full", st.FullRescan,
			"woken", extra, "tables_sock_diag", st.TablesSockDiag, "tables_proc", st.TablesProcNet)
	}
}

// metricSteps maps the pipeline's step stats to the metrics'; pluginsOK
// is whether the plugins ran without a fault in this tick.
func metricSteps(steps []pipeline.StepStat, pluginsOK bool) []metrics.Step {
	out := make([]metrics.Step, len(steps))
	for i, s := range steps {
		ok := s.OK
		if s.Step == pipeline.StepPlugins {
			ok = ok && pluginsOK
		}
		out[i] = metrics.Step{Name: string(s.Step), Duration: s.Duration, OK: ok}
	}
	return out
}

// pluginSample maps one plugin's stats to its metrics; a tenant's plugin
// is named TENANT/NAME.
func pluginSample(ps wasmhost.PluginStats) metrics.PluginSample {
	tenant, name, ok := strings.Cut(ps.Name, "/")
	if !ok {
		tenant, name = "", ps.Name
	}
	return metrics.PluginSample{
		Plugin: name, Tenant: tenant, Loaded: ps.Loaded, BreakerOpen: ps.Breaker != wasmhost.BreakerClosed, Instances: ps.Instances,
		Calls: ps.Calls, Records: ps.Records, CacheHits: ps.CacheHits, BudgetSkips: ps.BudgetSkips,
		CallSeconds: ps.CallTime.Seconds(), Faults: ps.Faults,
	}
}
