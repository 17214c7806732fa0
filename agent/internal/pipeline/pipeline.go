package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/scan"
	"github.com/proctag/proctag/agent/internal/sockets"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
	"github.com/proctag/proctag/agent/snapshot"
)

// Config is what one Pipeline needs. The step objects are built by the
// caller (agent/cmd/proctag) from the loaded configuration and are owned by
// the Pipeline afterwards; Plugins may be nil (no plugins configured).
type Config struct {
	// Root is the procfs mount, os-proc-root.
	Root string
	// MinLifetime is os-proc-socket-min-lifetime: younger processes are
	// not reported (they still count as parents).
	MinLifetime time.Duration
	// FullRescanEvery is full-rescan-every, the number of ticks between
	// full re-reads (see scan.Config).
	FullRescanEvery int
	// EventsFullRescanEvery is events-full-rescan-every, the number of
	// ticks between full re-reads while UseEventsPeriod(true) says that
	// the event sources vouch for the host; 0 means FullRescanEvery.
	EventsFullRescanEvery int
	// SockDiag reads the socket tables over sock_diag netlink where it
	// can, with /proc/PID/net as the fallback (see sockets.Config).
	SockDiag bool
	// Rules is the compiled os-proc-regex list; TaggedOnly is
	// os-proc-sync-tagged-only.
	Rules      *rules.Set
	TaggedOnly bool
	// Tags runs os-app-tag-exec; nil means no tag command.
	Tags *tags.Runner
	// Plugins is the wasm host; nil means no plugins.
	Plugins *wasmhost.Host
	// Conns are the short connections that socket events report; nil
	// without such a source. Each tick takes those that closed since the
	// last and publishes the ones of reported processes in
	// Snapshot.Closed.
	Conns *conns.Tracker
	// Redactor removes secrets from published cmdlines; nil publishes
	// them as they are.
	Redactor *redact.Redactor
	// Host is copied into every snapshot; ScanTime and BootTime are set
	// per tick.
	Host snapshot.Host
}

// Pipeline runs ticks. It is not safe for concurrent use.
type Pipeline struct {
	cfg     Config
	logger  hclog.Logger
	scanner *scan.Scanner
	sockets *sockets.Collector
	eval    *rules.Evaluator
	tagsErr string // last tag exec error, to log a repeated one once
	// tagged is the start time (clock ticks) of each process the last
	// good tag run tagged, as the scan of that tick found it: its tags
	// are kept while the command fails, for that process only.
	tagged  map[int]uint64
	last    *state
	nowFunc func() time.Time
	// forceFull is set by ForceFull until a scan succeeds; tcpUnchanged
	// by TCPUnchanged for the next Tick.
	forceFull, tcpUnchanged bool
	// snap is the last state Tick returned, waiting the processes and
	// sockets it held back for min-lifetime or whose holders it is still
	// looking for (see Quiet).
	snap    *snapshot.Snapshot
	waiting int
	// socks is the last tick's published sockets, which the next tick
	// publishes again (the same slice) when the collector says that
	// nothing changed.
	socks []snapshot.SocketRow
	// accepted and owners are the buffers of the last tick's lists of
	// that name, which the next tick fills again (as it does last's procs
	// and verdicts): a steady tick allocates no list in proportion to the
	// host's processes.
	accepted []int
	owners   []sockets.Owner
}

// state is what the last tick saw, for Explain.
type state struct {
	res      *scan.Result
	procs    []rules.Proc
	verdicts []rules.Verdict
	plugins  map[int]wasmhost.Output // by index into procs
}

// New builds a Pipeline and its scanner and socket collector.
func New(cfg Config, logger hclog.Logger) (*Pipeline, error) {
	if cfg.Rules == nil {
		return nil, fmt.Errorf("pipeline: no rule set")
	}
	sc, err := scan.New(scan.Config{Root: cfg.Root, FullRescanEvery: cfg.FullRescanEvery}, logger)
	if err != nil {
		return nil, err
	}
	so, err := sockets.New(sockets.Config{Root: cfg.Root, MinLifetime: cfg.MinLifetime, SockDiag: cfg.SockDiag}, logger)
	if err != nil {
		return nil, err
	}
	return &Pipeline{
		cfg:     cfg,
		logger:  logger.Named("pipeline"),
		scanner: sc,
		sockets: so,
		eval:    rules.NewEvaluator(cfg.Rules, cfg.TaggedOnly),
		nowFunc: time.Now,
	}, nil
}

// ForceFull makes the next Tick a full re-read of every process and socket
// owner, as after lost process events; a Tick whose scan fails leaves it
// for the next.
func (p *Pipeline) ForceFull() { p.forceFull = true }

// TCPUnchanged tells the next Tick that no TCP socket of the host
// listened, connected, was accepted or closed since the last Tick that
// read the TCP tables, as eBPF TCP events that lost nothing vouch: unless
// it is a full re-read, the Tick keeps the rows of that read instead of
// reading the TCP tables again (sockets.Collector.TCPUnchanged);
// Stats.TablesKept counts the tables it kept. It still reads the UDP
// tables, which no event covers.
func (p *Pipeline) TCPUnchanged() { p.tcpUnchanged = true }

// RecycleSockets lets a tick that changes the sockets write them into
// the slice of the tick before the last that changed them, instead of a
// new one, when held says that nothing reads that slice any more (the
// agent passes its publisher's Holds; the pipeline itself keeps only the
// last state). A host whose sockets change tick after tick then makes no
// garbage of 64 bytes a socket per tick. held must not say true of a
// slice once it said false. nil, the default, turns it off.
func (p *Pipeline) RecycleSockets(held func([]snapshot.SocketRow) bool) {
	if held == nil {
		p.sockets.Recycle(nil)
		return
	}
	p.sockets.Recycle(func(report any) bool {
		socks, ok := report.([]snapshot.SocketRow)
		return !ok || held(socks)
	})
}

// UseFDs makes the ticks that walk many processes' fd/ directories take
// their sockets from one dump of d instead (sockets.Collector.UseFDs).
func (p *Pipeline) UseFDs(d sockets.FDDumper) { p.sockets.UseFDs(d) }

// UseEventsPeriod makes full re-reads come every EventsFullRescanEvery
// ticks while on (the process connector and the eBPF TCP events are both
// healthy and lost nothing), and every FullRescanEvery ticks again when
// off. The ticks since the last full re-read are kept across a switch:
// see scan.Scanner.SetFullRescanEvery.
func (p *Pipeline) UseEventsPeriod(on bool) {
	n := p.cfg.FullRescanEvery
	if on && p.cfg.EventsFullRescanEvery != 0 {
		n = p.cfg.EventsFullRescanEvery
	}
	p.scanner.SetFullRescanEvery(n)
}

// FullRescanEvery returns the number of ticks between full re-reads that
// applies now (see UseEventsPeriod).
func (p *Pipeline) FullRescanEvery() int { return p.scanner.FullRescanEvery() }

// Reread makes the next Tick read process pid's cached fields again
// (cmdline, exe, owner, root, cgroup, ns/net), for a process that the
// process connector saw call execve or change its uid; the next Quiet
// refuses until a Tick did.
func (p *Pipeline) Reread(pid int) { p.scanner.Reread(pid) }

// UseConns makes each tick publish the short connections that tr reports,
// as Config.Conns does.
func (p *Pipeline) UseConns(tr *conns.Tracker) { p.cfg.Conns = tr }

// Early is the reader that the process connector's fork and exec events
// feed, so that a process that exits before the next tick is still
// reported by it (see scan.Early).
func (p *Pipeline) Early() *scan.Early { return p.scanner.Early() }

// TickExtra is Tick out of the interval's rhythm, woken by process events:
// it does not count toward the period of full re-reads (full-rescan-every,
// or events-full-rescan-every, see UseEventsPeriod).
func (p *Pipeline) TickExtra(ctx context.Context) (*snapshot.Snapshot, Stats, error) {
	p.scanner.NextExtra()
	return p.Tick(ctx)
}

// Close releases what the scanner and the socket collector keep open
// between ticks. The Pipeline must not be used afterwards.
func (p *Pipeline) Close() error {
	return errors.Join(p.sockets.Close(), p.scanner.Close())
}

// Step names one step of a tick, as logs and metrics label it.
type Step string

// The steps of a tick, in the order Tick runs them.
const (
	StepScan    Step = "scan"    // reading /proc (scan.Scanner)
	StepTags    Step = "tags"    // os-app-tag-exec
	StepRules   Step = "rules"   // os-proc-regex and inheritance
	StepPlugins Step = "plugins" // the wasm plugins
	StepSockets Step = "sockets" // socket tables and owners
)

// StepStat is what one step of one tick cost and whether it did its work.
type StepStat struct {
	Step Step
	// Duration is the step's wall time.
	Duration time.Duration
	// OK is false when the step failed: the scan or socket collection
	// returned an error (the tick fails with it), or the tag command
	// failed (the previous tick's tags were used).
	OK bool
}

// Stats counts what one tick did, for logs, heartbeats and metrics.
type Stats struct {
	// Steps are the steps that ran, in order; a step that is not
	// configured (no tag command, no plugins) does not run. A failed tick
	// ends with the step that failed.
	Steps []StepStat
	// Duration is the wall time of the whole Tick.
	Duration   time.Duration
	Processes  int // processes seen in /proc, kernel threads included
	Reported   int
	Sockets    int
	FullRescan bool
	// TablesSockDiag and TablesProcNet are the socket tables this tick
	// read over sock_diag and from /proc/PID/net text; TablesKept the
	// TCP tables it did not read, told that they had not changed
	// (TCPUnchanged).
	TablesSockDiag, TablesProcNet, TablesKept int
	// Quiet is set for a tick that Quiet answered without reading.
	Quiet bool
}

// Step returns the stat of step s and whether it ran.
func (st *Stats) Step(s Step) (StepStat, bool) {
	for _, x := range st.Steps {
		if x.Step == s {
			return x, true
		}
	}
	return StepStat{}, false
}

// timer measures the steps of one tick into st.
type timer struct {
	st   *Stats
	now  func() time.Time
	last time.Time
}

// done records step s as having run from the previous mark until now.
func (t *timer) done(s Step, ok bool) {
	now := t.now()
	t.st.Steps = append(t.st.Steps, StepStat{Step: s, Duration: now.Sub(t.last), OK: ok})
	t.last = now
}

// skip moves the mark past work that belongs to no step.
func (t *timer) skip() { t.last = t.now() }

// Tick runs one scan through every step and returns the host's state and
// what each step cost; the stats are filled also when the tick fails.
func (p *Pipeline) Tick(ctx context.Context) (*snapshot.Snapshot, Stats, error) {
	start := p.nowFunc()
	st := Stats{Steps: make([]StepStat, 0, 5)}
	tm := timer{st: &st, now: p.nowFunc, last: start}
	tcpUnchanged := p.tcpUnchanged
	p.tcpUnchanged = false
	if p.forceFull {
		p.scanner.NextFull()
	}
	res, err := p.scanner.Scan(ctx)
	tm.done(StepScan, err == nil)
	if err != nil {
		st.Duration = p.nowFunc().Sub(start)
		return nil, st, fmt.Errorf("scan %s: %w", p.cfg.Root, err)
	}
	p.forceFull = false
	st.Processes = len(res.Processes)
	st.FullRescan = res.Full

	var own map[int]tags.Entry
	if p.cfg.Tags != nil {
		var ok bool
		own, ok = p.runTags(ctx)
		if ok {
			p.tagged = taggedStarts(res, own)
		} else {
			own = keptTags(res, own, p.tagged)
		}
		tm.done(StepTags, ok)
	}
	var procs []rules.Proc
	var verdicts []rules.Verdict
	if p.last != nil {
		// The last tick's lists are this one's buffers; this tick's
		// decisions replace them for Explanation once made, below.
		procs, verdicts = p.last.procs, p.last.verdicts
		p.last = &state{res: p.last.res}
	}
	procs = p.ruleInputs(res, own, procs)
	verdicts = p.eval.EvaluateInto(procs, verdicts)

	accepted := p.accepted[:0]
	for i := range verdicts {
		if verdicts[i].Reported {
			accepted = append(accepted, i)
		}
	}
	tm.done(StepRules, true)
	outs := p.applyPlugins(ctx, res, procs, verdicts, accepted)
	if p.cfg.Plugins != nil {
		tm.done(StepPlugins, true)
	}
	p.last = &state{res: res, procs: procs, verdicts: verdicts, plugins: outs}

	snap := &snapshot.Snapshot{Host: p.cfg.Host}
	snap.Host.ScanTime = res.Time
	snap.Host.BootTime = res.BootTime.UnixMilli()
	// The processes are the last tick's list again, which Diff need not
	// walk, as long as each is the last list's at its place; the first
	// that is not starts a new list.
	var last []snapshot.Process
	if p.snap != nil {
		last = p.snap.Processes
	}
	var list []snapshot.Process
	same := 0 // how many lead the new list as they led the last
	owners := slices.Grow(p.owners[:0], len(accepted))
	for _, i := range accepted {
		sp := res.Processes[i]
		out, plugged := outs[i]
		if plugged && out.Drop {
			continue
		}
		if sp.Exited.IsZero() {
			owners = append(owners, sockets.Owner{Key: sp.Key, StartTime: sp.StartTime, NetNS: sp.NetNS, UID: sp.UID})
		}
		pp := p.publishedProcess(sp, verdicts[i], out, plugged)
		if list == nil {
			if same < len(last) && last[same].Equal(&pp) {
				same++
				continue
			}
			list = append(make([]snapshot.Process, 0, len(accepted)), last[:same]...)
		}
		list = append(list, pp)
	}
	switch {
	case list == nil && last != nil && same == len(last):
		snap.Processes = last
	case list == nil:
		snap.Processes = append(make([]snapshot.Process, 0, same), last[:same]...) // published as [], not null
	default:
		snap.Processes = list
		snap.SortProcesses()
	}
	tm.skip()
	tables := p.nowFunc()
	if tcpUnchanged {
		p.sockets.TCPUnchanged() // a full Collect reads them anyway
	}
	diag0, text0 := p.sockets.TableReads()
	kept0 := p.sockets.TablesKept()
	socks, changed, err := sockets.CollectChangesAs(p.sockets, ctx, res.Time, owners, res.Full, newSocketConverter)
	diag1, text1 := p.sockets.TableReads()
	st.TablesSockDiag, st.TablesProcNet = int(diag1-diag0), int(text1-text0)
	st.TablesKept = int(p.sockets.TablesKept() - kept0)
	tm.done(StepSockets, err == nil)
	if err != nil {
		st.Duration = p.nowFunc().Sub(start)
		return nil, st, fmt.Errorf("sockets: %w", err)
	}
	// The collector hands the sockets over in the snapshot order; the last
	// tick's are shared with the last snapshot and the collector, which
	// copies from them: not to be written to, not even by a sort that
	// moves nothing.
	if changed {
		p.socks = socks
	}
	snap.SocketRows = p.socks
	snap.Addresses = p.sockets.Addresses(res.Full)
	if p.cfg.Conns != nil {
		closed, dropped := p.cfg.Conns.Take(tables, func(c *conns.Conn) bool {
			_, held := snapshot.FindSocketRow(snap.SocketRows, c.NetNS, c.Proto, c.Local, c.Remote)
			return held
		})
		var before []snapshot.Process
		if p.snap != nil {
			before = p.snap.Processes
		}
		snap.Closed, snap.ClosedDropped = closedConnections(closed, snap.Processes, before), dropped
		if p.logger.IsDebug() {
			cs := p.cfg.Conns.Stats()
			p.logger.Debug("short connections", "taken", len(closed), "published", len(snap.Closed), "dropped", dropped,
				"events", cs.Events, "opened", cs.Opened, "closed", cs.Closed, "untracked", cs.Untracked, "expired", cs.Expired)
		}
	}
	st.Reported = len(snap.Processes)
	st.Sockets = snap.NumSockets()
	p.snap, p.waiting = snap, p.sockets.Young()+p.sockets.Pending()+youngProcs(procs, verdicts)
	for i := range snap.Processes {
		if snap.Processes[i].Exited != 0 {
			p.waiting++ // to be removed by the next tick
		}
	}
	p.accepted, p.owners = accepted, owners
	st.Duration = p.nowFunc().Sub(start)
	return snap, st, nil
}

// youngProcs counts the processes that min-lifetime alone keeps from being
// reported.
func youngProcs(procs []rules.Proc, verdicts []rules.Verdict) int {
	n := 0
	for i := range procs {
		if procs[i].Young && procs[i].HasArgv && !verdicts[i].Reported {
			n++
		}
	}
	return n
}

// Last returns the state the last Tick or Quiet returned, nil before the
// first.
func (p *Pipeline) Last() *snapshot.Snapshot { return p.snap }

// Quiet is the tick of an interval in which the event sources reported
// nothing: no process forked, exec'd or exited and no TCP socket changed.
// It returns the last state again, scan time now and no closed
// connections, without reading /proc, and counts as a tick toward the
// period of full re-reads (see UseEventsPeriod). It returns false, and
// does nothing, when the tick must read after all: there is no last
// state, a full re-read is due (by the period or ForceFull), a process
// waits to be read again (Reread), the last tick held processes or
// sockets back for min-lifetime, left new sockets whose candidate holders
// it has not all walked (sockets.Collector.Pending) or published an exited
// process, a tag command runs (its output may change at any time), or
// the plugins' last results do not stand (wasmhost.Host.Settled: a plugin
// was loaded, replaced or unloaded, or records wait for the tick budget).
func (p *Pipeline) Quiet() (*snapshot.Snapshot, Stats, bool) {
	if p.snap == nil || p.waiting > 0 || p.forceFull || p.cfg.Tags != nil ||
		(p.cfg.Plugins != nil && !p.cfg.Plugins.Settled()) || !p.scanner.Skip() {
		return nil, Stats{}, false
	}
	snap := *p.snap
	snap.Host.ScanTime = p.nowFunc()
	snap.Closed, snap.ClosedDropped = nil, 0
	p.snap = &snap
	return &snap, Stats{Processes: len(p.last.res.Processes), Reported: len(snap.Processes), Sockets: snap.NumSockets(), Quiet: true}, true
}

// taggedStarts returns the start time of each process of res that own
// tags.
func taggedStarts(res *scan.Result, own map[int]tags.Entry) map[int]uint64 {
	starts := make(map[int]uint64, len(own))
	for _, sp := range res.Processes {
		if _, ok := own[sp.PID]; ok {
			starts[sp.PID] = sp.StartTicks
		}
	}
	return starts
}

// keptTags returns the tags of the last good run (own) that still belong
// to the process they were given to: a pid since reused by another
// process (another start time) or not seen then gets none of them.
func keptTags(res *scan.Result, own map[int]tags.Entry, starts map[int]uint64) map[int]tags.Entry {
	kept := make(map[int]tags.Entry, len(own))
	for _, sp := range res.Processes {
		if e, ok := own[sp.PID]; ok {
			if start, seen := starts[sp.PID]; seen && start == sp.StartTicks {
				kept[sp.PID] = e
			}
		}
	}
	return kept
}

// runTags runs the tag exec command and returns its per-pid entries and
// whether it worked. On failure the runner hands back the previous tick's
// tags; the error is logged once per distinct message.
func (p *Pipeline) runTags(ctx context.Context) (map[int]tags.Entry, bool) {
	r, err := p.cfg.Tags.Run(ctx)
	if err != nil {
		if msg := err.Error(); msg != p.tagsErr {
			p.logger.Warn("tag exec failed, keeping the previous tags", "error", err)
			p.tagsErr = msg
		}
		return r.ByPID, false
	}
	if p.tagsErr != "" {
		p.logger.Info("tag exec works again")
		p.tagsErr = ""
	}
	return r.ByPID, true
}
