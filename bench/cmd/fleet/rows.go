package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
	"github.com/proctag/proctag/agent/snapshot"
)

// The fleet targets.
const (
	// wireTarget is the wire cost of a quiet host at a 10 s interval, in
	// bytes a second, as the subscriber receives it (headers included).
	wireTarget = 50.0
	// rssTarget and cpuTarget bound the subscriber that follows the whole
	// fleet: peak resident set and cores.
	rssTarget = 2 << 30
	cpuTarget = 1.0
	// lookupTarget bounds one flow lookup, with no allocation.
	lookupTarget = time.Microsecond
	// lateTarget bounds the time a late subscriber takes to have every
	// host's state.
	lateTarget = 10 * time.Second
	// killTarget bounds, in intervals, the time from the loss of a server
	// until every host's state is current again.
	killTarget = 2.0
)

// figures is what the phases measured, and their errors.
type figures struct {
	interval    time.Duration
	poll, grace time.Duration
	hosts       int
	churn       float64
	sockets     int

	initial    waited
	initialErr error

	quiet, churning    usage
	quietErr, churnErr error

	late    waited
	lateErr error

	killed, killUsers int
	kill              waited
	killErr           error

	final, finalLate       waited
	finalErr, finalLateErr error

	subStats, lateStats statsAnswer
	// lateAtSync is the late subscriber's usage when it had every host.
	lateAtSync statsAnswer
	statsErr   error
	flow       flowAnswer
	published  snapshot.Stats
	pubLog     logCounter // the publishers' warnings and errors
}

// rows are the table's rows.
func (f *figures) rows() []report.Row {
	if f.initialErr != nil {
		return []report.Row{report.ErrorRow("initial sync", f.initialErr)}
	}
	rows := []report.Row{{
		What: "first sync: subscriber has every host's state", Value: report.Seconds(f.initial.took), Base: "-", Ratio: "-",
		Target: "-", Verdict: report.Info, Note: "from the subscriber child's start, the fleet running (replay of the stream)",
	}}
	rows = append(rows, f.wireRow(), f.cpuRow("subscriber CPU, quiet fleet", f.quiet, f.quietErr),
		f.cpuRow(fmt.Sprintf("subscriber CPU, %.0f %% of hosts churning", 100*f.churn), f.churning, f.churnErr),
		f.rssRow(), f.gapRow(), f.lateRow(), f.killRow(), f.flowRow())
	return rows
}

// wireRow is the bytes a quiet host costs the subscriber.
func (f *figures) wireRow() report.Row {
	const what = "wire cost per quiet host (headers included)"
	if f.quietErr != nil {
		return report.ErrorRow(what, f.quietErr)
	}
	perSec := float64(f.quiet.total()) / float64(f.hosts) / f.quiet.took.Seconds()
	at10 := perSec * f.interval.Seconds() / 10
	base := "-"
	if f.interval != 10*time.Second {
		base = fmt.Sprintf("%.1f B/s at 10 s", at10)
	}
	hb := f.quiet.msgs["hb"]
	perHB := 0.0
	if hb > 0 {
		perHB = float64(f.quiet.bytes["hb"]) / float64(hb)
	}
	return report.Row{
		What: what, Value: fmt.Sprintf("%.1f B/s", perSec), Base: base, Ratio: "-",
		Target: fmt.Sprintf("≤ %.0f B/s at 10 s", wireTarget), Verdict: report.Check(at10 <= wireTarget),
		Note: fmt.Sprintf("all the subscriber's socket received in %v / hosts: %s; %.0f B a heartbeat (HMSG line, headers, body, CRLFs)",
			f.quiet.took.Round(time.Millisecond), kinds(f.quiet), perHB),
	}
}

// kinds lists a window's bytes and messages by kind.
func kinds(u usage) string {
	var ks []string
	for k := range u.bytes {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var s []string
	for _, k := range ks {
		s = append(s, fmt.Sprintf("%s %d B in %d msgs", k, u.bytes[k], u.msgs[k]))
	}
	return strings.Join(s, ", ")
}

// cpuRow is the subscriber's CPU over a window, in cores.
func (f *figures) cpuRow(what string, u usage, err error) report.Row {
	if err != nil {
		return report.ErrorRow(what, err)
	}
	return report.Row{
		What: what, Value: fmt.Sprintf("%.3f cores", u.cores()), Base: "-", Ratio: "-",
		Target: fmt.Sprintf("≤ %.0f core", cpuTarget), Verdict: report.Check(u.cores() <= cpuTarget),
		Note: fmt.Sprintf("getrusage of the subscriber process (natssub + flow index) over %v; it received %.0f kB/s: %s",
			u.took.Round(time.Millisecond), float64(u.total())/1e3/u.took.Seconds(), kinds(u)),
	}
}

// rssRow is the subscriber's peak resident set.
func (f *figures) rssRow() report.Row {
	const what = "subscriber peak RSS (whole fleet)"
	if f.statsErr != nil {
		return report.ErrorRow(what, f.statsErr)
	}
	s := f.subStats
	return report.Row{
		What: what, Value: report.MiB(s.MaxRSS), Base: "-", Ratio: "-",
		Target: "≤ " + report.MiB(rssTarget), Verdict: report.Check(s.MaxRSS <= rssTarget),
		Note: fmt.Sprintf("VmHWM of the subscriber process, %d hosts followed and in its flow index (%d), after every phase; RSS now %s, "+
			"Go heap live at the last collection %s, Go runtime's mappings %s (%s of them released); late subscriber: peak %s, heap live %s, mappings %s (%s released)",
			s.Hosts, s.FlowHosts, report.MiB(s.RSS), report.MiB(s.HeapLive), report.MiB(s.GoMapped), report.MiB(s.GoReleased),
			report.MiB(f.lateStats.MaxRSS), report.MiB(f.lateStats.HeapLive), report.MiB(f.lateStats.GoMapped), report.MiB(f.lateStats.GoReleased)),
	}
}

// gapRow counts the hosts whose state a subscriber claims is in sync but
// is not the host's, once the churn has stopped and the last states have
// had time to arrive.
func (f *figures) gapRow() report.Row {
	const what = "undetected gaps (synced but not the host's state)"
	c, l := f.final.check, f.finalLate.check
	undetected := c.Stale + l.Stale
	note := fmt.Sprintf("after the node kill and the churn's end, both subscribers: %d + %d hosts current, %d + %d still resyncing, %d + %d without a state; "+
		"gaps detected and resynced: %d %v + %d %v",
		c.Current, l.Current, c.Unsynced, l.Unsynced, c.Missing, l.Missing, f.subStats.Resyncs, f.subStats.Reasons, f.lateStats.Resyncs, f.lateStats.Reasons)
	for _, err := range []error{f.finalErr, f.finalLateErr} {
		if err != nil {
			note += "; " + err.Error()
		}
	}
	return report.Row{
		What: what, Value: fmt.Sprint(undetected), Base: "-", Ratio: "-", Target: "0",
		Verdict: report.Check(undetected == 0 && c.Missing+l.Missing == 0), Note: note,
	}
}

// lateRow is how long a subscriber started on a running, churning fleet
// takes to have every host's state.
func (f *figures) lateRow() report.Row {
	const what = "late subscriber: every host's state"
	if f.lateErr != nil && f.late.took == 0 {
		return report.ErrorRow(what, f.lateErr)
	}
	note := fmt.Sprintf("from the child's start (process start, connect, stream replay) while %.0f %% of hosts churn; the child's CPU by then %.2f s, %s received",
		100*f.churn, time.Duration(f.lateAtSync.CPUNanos).Seconds(), report.MiB(int64(sum(f.lateAtSync.Bytes))))
	if f.lateErr != nil {
		note += "; " + f.lateErr.Error()
	}
	return report.Row{
		What: what, Value: report.Seconds(f.late.took), Base: "-", Ratio: "-",
		Target: "≤ " + report.Seconds(lateTarget), Verdict: report.Check(f.lateErr == nil && f.late.took <= lateTarget), Note: note,
	}
}

// sum is the sum of m's values.
func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// killRow is how long after the loss of a server every host's state is
// current again at the subscriber.
func (f *figures) killRow() report.Row {
	const what = "node killed: every host current again"
	if f.killErr != nil && f.kill.took == 0 {
		return report.ErrorRow(what, f.killErr)
	}
	ticks := f.kill.took.Seconds() / f.interval.Seconds()
	note := fmt.Sprintf("server %d killed (%d publishers' first server; the subscriber's is another) while the fleet churns; "+
		"from the kill to the first of the polls (every %v, for ≥ 4 intervals) since which every host has been current (a state submitted %v ago or later); "+
		"at most %d hosts behind at one poll; publishers in all: %d reconnects, %d publish errors, %d resync requests answered; their log over the whole run: %s",
		f.killed, f.killUsers, f.poll, f.grace, f.kill.worst, f.published.Reconnects, f.published.PublishErrors, f.published.ResyncRequests, &f.pubLog)
	if f.killErr != nil {
		note += "; " + f.killErr.Error()
	}
	return report.Row{
		What: what, Value: fmt.Sprintf("%.1f intervals", ticks), Base: report.Seconds(f.kill.took), Ratio: "-",
		Target: fmt.Sprintf("≤ %.0f intervals", killTarget), Verdict: report.Check(f.killErr == nil && ticks <= killTarget), Note: note,
	}
}

// flowRow is one lookup in the subscriber's flow index.
func (f *figures) flowRow() report.Row {
	const what = "flow lookup (natssub.FlowIndex, whole fleet)"
	a := f.flow
	if a.Error != "" {
		return report.ErrorRow(what, fmt.Errorf("%s", a.Error))
	}
	return report.Row{
		What: what, Value: fmt.Sprintf("%d ns, %d allocs", a.NsPerOp, a.AllocsPerOp), Base: "-", Ratio: "-",
		Target:  fmt.Sprintf("≤ %v, 0 allocs", lookupTarget),
		Verdict: report.Check(time.Duration(a.NsPerOp) <= lookupTarget && a.AllocsPerOp == 0),
		Note: fmt.Sprintf("testing.Benchmark in the subscriber child over %d hosts, %d sockets, cycling through %d flows between hosts; %d of them resolved both ends by socket on the right hosts",
			a.Hosts, a.Sockets, a.Flows, a.Resolved),
	}
}
