package main

import (
	"fmt"
	"math"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// Targets of the agent's measurements.
const (
	// idleTarget is the most the events mode may cost, as a share of
	// polling's CPU.
	idleTarget = 0.05
	// attributionTarget is the least share (%) of churn connections whose
	// both ends the events mode must attribute.
	attributionTarget = 99.0
	// latencyTarget is the most a new process's p99 latency may be.
	latencyTarget = time.Second
)

// modeNote says which events mode an "on" session really used.
func modeNote(s *session) string {
	if s.fallback == "" {
		return ""
	}
	return fmt.Sprintf("; on refused to start, auto used (%s)", s.fallback)
}

// sessionErr is the error that keeps part of s from having a figure.
func sessionErr(s *session, part error) error {
	if s.err != nil {
		return fmt.Errorf("os-proc-events %s: %w", s.mode, s.err)
	}
	if part != nil {
		return fmt.Errorf("os-proc-events %s: %w", s.used, part)
	}
	return nil
}

// idleRows compare the quiet host's CPU per minute and peak RSS, measured
// with the agents ticking every interval.
func idleRows(on, off *session, window, interval time.Duration) []report.Row {
	const what = "agent CPU/min, quiet host (events / polling)"
	if err := sessionErr(on, on.idleErr); err != nil {
		return []report.Row{report.ErrorRow(what, err)}
	}
	if err := sessionErr(off, off.idleErr); err != nil {
		return []report.Row{report.ErrorRow(what, err)}
	}
	perMin := func(d time.Duration) string { return fmt.Sprintf("%.2f s/min", d.Seconds()) }
	r := on.cpuPerMin.Seconds() / off.cpuPerMin.Seconds()
	return []report.Row{{
		What: what, Value: perMin(on.cpuPerMin), Base: perMin(off.cpuPerMin),
		Ratio: report.Percent(on.cpuPerMin.Seconds(), off.cpuPerMin.Seconds()), Target: fmt.Sprintf("≤ %.0f %%", 100*idleTarget),
		Verdict: report.Check(r <= idleTarget),
		Note: fmt.Sprintf("both at a %v interval, so that the %v window holds %s: the events mode's full re-reads (every %d ticks while its sources are healthy) are in it in proportion, "+
			"polling's every %d ticks; per tick the same work as at any interval; "+
			"in the window: events (%s) %d states, %s, host %d forks; polling %d states, host %d forks; first state %d procs, %d sockets%s",
			interval, window, periods(window, interval), eventsFullRescanEvery, fullRescanEvery,
			on.used, on.states, quietNote(on), on.forks, off.states, off.forks, on.procs, on.socks, modeNote(on)),
	}, {
		What: "agent peak RSS (events / polling)", Value: report.MiB(on.hwm), Base: report.MiB(off.hwm),
		Ratio: report.Ratio(float64(on.hwm), float64(off.hwm)), Target: "both ≤ " + report.MiB(agentRSSTarget),
		Verdict: report.Check(on.hwm <= agentRSSTarget && off.hwm <= agentRSSTarget), Note: "VmHWM after the idle window",
	}}
}

// churnRow compares the share of churn connections attributed on both
// ends.
func churnRow(on, off *session) report.Row {
	const what = "churn conns, both ends right (events / polling)"
	if err := sessionErr(on, on.churnErr); err != nil {
		return report.ErrorRow(what, err)
	}
	base, note := "-", ""
	if err := sessionErr(off, off.churnErr); err != nil {
		note = "; polling: " + err.Error()
	} else {
		base = fmt.Sprintf("%.1f %%", off.churn.share())
		note = "; polling: " + off.churn.String()
	}
	a := on.churn
	if a.dialErrors > 0 || a.changesDropped > 0 {
		note += fmt.Sprintf("; events run: %d failed dials, %d states dropped by realhost", a.dialErrors, a.changesDropped)
	}
	r := "-"
	if off.err == nil && off.churnErr == nil && off.churn.share() > 0 {
		r = report.Ratio(a.share(), off.churn.share())
	}
	return report.Row{
		What: what, Value: fmt.Sprintf("%.1f %%", a.share()), Base: base, Ratio: r,
		Target: fmt.Sprintf("≥ %.0f %%", attributionTarget), Verdict: report.Check(a.made > 0 && a.share() >= attributionTarget),
		Note: "events: " + a.String() + note + modeNote(on),
	}
}

// latencyRow gives the new process latency's p99 against the tick
// interval, polling's worst case.
func latencyRow(on *session, interval time.Duration) report.Row {
	const what = "new process latency p99 (events)"
	if err := sessionErr(on, on.latErr); err != nil {
		return report.ErrorRow(what, err)
	}
	ls := append([]time.Duration(nil), on.latencies...)
	for range on.missing {
		ls = append(ls, time.Duration(math.MaxInt64)) // never seen: last
	}
	if len(ls) == 0 {
		return report.ErrorRow(what, fmt.Errorf("no probe started"))
	}
	p50, p99 := report.Percentile(ls, 50), report.Percentile(ls, 99)
	show := func(d time.Duration) string {
		if d == math.MaxInt64 {
			return "not seen"
		}
		return report.Seconds(d)
	}
	r := "-"
	if p99 != math.MaxInt64 {
		r = report.Ratio(p99.Seconds(), interval.Seconds())
	}
	return report.Row{
		What: what, Value: show(p99), Base: fmt.Sprintf("%v interval", interval), Ratio: r,
		Target: "≤ " + report.Seconds(latencyTarget), Verdict: report.Check(p99 <= latencyTarget),
		Note: fmt.Sprintf("p50 %s; %d of %d probes seen%s", show(p50), len(on.latencies), len(ls), modeNote(on)),
	}
}

// periods says how many periods of events-full-rescan-every ticks at
// interval window is.
func periods(window, interval time.Duration) string {
	n := float64(window) / float64(eventsFullRescanEvery*interval)
	if n == 1 {
		return fmt.Sprintf("one period of %d ticks", eventsFullRescanEvery)
	}
	return fmt.Sprintf("%.4g periods of %d ticks", n, eventsFullRescanEvery)
}

// quietNote says how many of the session's ticks in the idle window were
// quiet: the others read /proc and the socket tables, because the host's
// processes or TCP sockets changed (or were young) in their interval.
func quietNote(s *session) string {
	if !s.ticksOK {
		return "quiet ticks unknown"
	}
	return fmt.Sprintf("%d of %d ticks quiet", s.quiet, s.ticks)
}
