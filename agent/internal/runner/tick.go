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

// tick runs one pipeline tick as plan says and hands the result to the
// publisher; an error is logged once per distinct message and the loop
// goes on. The tick's steps go to the metrics whether it failed or not.
// It returns whether the tick was quiet (the last state again, see
// Pipeline.Quiet) and whether it read every TCP table.
func (l *loop) tick(ctx context.Context, parts *Parts, plan tickPlan) tickOutcome {
	start := time.Now()
	var snap *snapshot.Snapshot
	var st pipeline.Stats
	var err error
	var quiet bool
	if plan.quiet {
		snap, st, quiet = parts.Pipeline.Quiet()
	}
	var assumed *snapshot.Snapshot
	if !quiet {
		if plan.reconcile {
			assumed = parts.Pipeline.Last()
		}
		tick := parts.Pipeline.Tick
		if plan.extra {
			tick = parts.Pipeline.TickExtra
		}
		if plan.tcpUnchanged {
			parts.Pipeline.TCPUnchanged()
		}
		snap, st, err = tick(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return tickOutcome{}
		}
		l.metrics.ObserveSteps(metricSteps(st.Steps, false))
		if msg := err.Error(); msg != l.lastErr {
			l.logger.Error("tick failed", "error", err)
			l.lastErr = msg
		}
		return tickOutcome{}
	}
	l.lastErr = ""
	l.ticks++
	agentMemory.check(l.logger)
	reconciled := 0
	if assumed != nil {
		reconciled = l.reconcile(assumed, snap)
	}
	if quiet {
		l.quietTicks++
	}
	if st.FullRescan {
		l.fullTicks++
	}
	l.closedReported += uint64(len(snap.Closed))
	l.closedDropped += uint64(snap.ClosedDropped)
	newlyLost := countLost(&l.tcpLost, plan.tcpLost) + countLost(&l.destroysLost, l.destroys.lost())
	l.eventsLost += newlyLost
	scan, _ := st.Step(pipeline.StepScan)
	stats := snapshot.Stats{
		ScanMicros:     scan.Duration.Microseconds(),
		Processes:      st.Reported,
		Sockets:        st.Sockets,
		ProcessesSeen:  st.Processes,
		Ticks:          l.ticks,
		RSSBytes:       selfRSS(),
		QuietTicks:     l.quietTicks,
		ReconcileDiffs: l.reconciled,
		ClosedReported: l.closedReported,
		ClosedDropped:  l.closedDropped,
		EventsLost:     l.eventsLost,
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
		TablesSockDiag: st.TablesSockDiag, TablesProcNet: st.TablesProcNet, Woken: plan.extra,
		Quiet: quiet, Reconciled: reconciled, Closed: len(snap.Closed), ClosedDropped: snap.ClosedDropped,
		EventsLost: int(newlyLost),
	})
	l.metrics.ObservePublisher(metrics.Publisher{
		Bytes: stats.PublishedBytes, Messages: stats.PublishedMessages, Errors: stats.PublishErrors,
		Reconnects: stats.Reconnects, ResyncRequests: stats.ResyncRequests,
	})
	l.metrics.ObservePlugins(samples)
	if l.logger.IsDebug() {
		l.logger.Debug("tick", "processes", st.Reported, "sockets", st.Sockets, "scan", scan.Duration, "tick", tickTime, "full", st.FullRescan,
			"woken", plan.extra, "quiet", quiet, "closed", len(snap.Closed), "tables_sock_diag", st.TablesSockDiag, "tables_proc", st.TablesProcNet,
			"tables_kept", st.TablesKept)
	}
	return tickOutcome{quiet: quiet, readTCP: !quiet && st.TablesKept == 0}
}

// reconcile compares the state that quiet ticks kept publishing with what
// a full re-read found, counts the processes and sockets added or removed
// (changes the event sources missed), logs the first time it finds any,
// and returns the count. The re-read's state is what gets published.
func (l *loop) reconcile(assumed, found *snapshot.Snapshot) int {
	d := snapshot.Diff(assumed, found)
	n := len(d.Added) + len(d.Removed) + len(d.SocketsAdded) + len(d.SocketsRemoved)
	l.reconciled += uint64(n)
	if n > 0 && !l.warnedReconcile {
		l.warnedReconcile = true
		l.logger.Warn("full re-read found changes the event sources did not report; the re-read state is published (logged once, counted in proctag_reconcile_differences_total)",
			"processes_added", len(d.Added), "processes_removed", len(d.Removed),
			"sockets_added", len(d.SocketsAdded), "sockets_removed", len(d.SocketsRemoved))
	}
	return n
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

// countLost returns by how much a source's count of lost events n passes
// seen, the highest it gave before, and keeps the new highest. A source's
// count may read lower for a moment (Tracker.Lost leaves out what it could
// not read), and the sources live as long as the run: a lower reading is
// no new loss, and the next higher one counts only what passes seen.
func countLost(seen *uint64, n uint64) uint64 {
	if n <= *seen {
		return 0
	}
	d := n - *seen
	*seen = n
	return d
}
