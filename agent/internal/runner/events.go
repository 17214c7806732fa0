package runner

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/pipeline"
	"github.com/proctag/proctag/agent/internal/procevents"
)

// Process events wake the tick loop early: a new process is published
// within a second of its fork or exec (eventWindow + minGap + the tick),
// once it is old enough (os-proc-socket-min-lifetime), instead of at the
// next interval, and a published process that exits is removed as soon.
// Ticks woken so are at least minGap apart and do not count toward the
// period of full re-reads; a batch with lost events makes the next tick a
// full re-read, and an exec or uid change re-reads its process.
const (
	// minGap is the shortest time between two ticks woken by events.
	minGap = 500 * time.Millisecond
	// eventWindow is how long the process connector gathers events
	// before it hands them over as a batch.
	eventWindow = 100 * time.Millisecond
	// startSlack is added to start+min-lifetime: the scan knows a
	// process's start to within the boot time's second.
	startSlack = time.Second
	// dueStep is the granularity of the wake times kept, which bounds
	// how many are kept to min-lifetime/dueStep.
	dueStep = 100 * time.Millisecond
)

// openEvents subscribes to the process connector when os-proc-events is
// not off and os-proc-root is a procfs mount; nil when it does not open
// (the start line said why, or this logs it when the start probe opened
// it).
func (l *loop) openEvents(ctx context.Context) *procevents.Source {
	if l.cfg.ProcEvents == config.ProcEventsOff || !isProcfs(l.cfg.ProcRoot) {
		return nil
	}
	src, err := procevents.Open(ctx, procevents.Config{Window: eventWindow, Notify: l.notify})
	if err != nil {
		// The start line said it opened: a failure now is news.
		l.logger.Warn("process connector not opened, ticks poll /proc at the interval", "error", err)
		return nil
	}
	return src
}

// notify runs in the process connector's reader goroutine for each event:
// a new process (fork) or program (exec) is read at once, so that one that
// exits before the next tick is still reported, and its exit time noted.
func (l *loop) notify(ev *procevents.Event) {
	e := l.early.Load()
	if e == nil || !ev.Leader() {
		return
	}
	switch ev.Kind {
	case procevents.KindFork, procevents.KindExec:
		if ev.Kind == procevents.KindFork && ev.ParentTGID == kthreadd {
			return // a kernel thread
		}
		e.Read(int(ev.TGID))
	case procevents.KindExit:
		e.Exit(int(ev.TGID), wallTime(ev.Time, time.Now()))
	}
}

// wallTime converts a CLOCK_MONOTONIC reading, as events carry it, to the
// wall clock, given now.
func wallTime(mono time.Duration, now time.Time) time.Time {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return now.Add(-(time.Duration(ts.Nano()) - mono))
}

// tickPlan is how the loop runs one tick.
type tickPlan struct {
	// extra marks a tick woken by process events (Pipeline.TickExtra).
	extra bool
	// quiet: the event sources reported nothing since the last tick, so
	// the last state may be published again (Pipeline.Quiet).
	quiet bool
	// reconcile: the last tick was quiet too, so if the pipeline turns
	// this one into a full re-read, its differences from the last state
	// are changes the events missed.
	reconcile bool
	// tcpUnchanged: no TCP event arrived since the last tick that read
	// the TCP tables began, and none was lost, so a tick that reads may
	// keep their rows (Pipeline.TCPUnchanged). tcpEvents is the count of
	// TCP events when this plan was made (conns.Stats.Events).
	tcpUnchanged bool
	tcpEvents    uint64
	// tcpLost is the count of eBPF TCP events lost since the source
	// opened, as of this plan (Tracker.Lost).
	tcpLost uint64
}

// tickOutcome is how a tick ran, for the plan of the next.
type tickOutcome struct {
	// quiet: the last state again (Pipeline.Quiet).
	quiet bool
	// readTCP: a Tick succeeded that read every TCP table.
	readTCP bool
}

// eventState follows the event sources between ticks, to tell when they
// vouch that nothing changed: the process connector and the eBPF TCP
// events must both run, neither may have lost events, and neither may
// have reported anything. While both run and lost nothing, full re-reads
// are a safety net and come every events-full-rescan-every ticks instead
// of every full-rescan-every (Pipeline.UseEventsPeriod).
type eventState struct {
	procs bool       // the process connector runs
	tcp   *tcpSource // nil without eBPF
	// saw is set when process events arrived since the last tick;
	// lastQuiet when the last tick was quiet.
	saw, lastQuiet bool
	// readTCP is set once a tick read every TCP table, and tcpEvents is
	// the count of TCP events when the last such tick was planned: while
	// the count stays, the tables show what they showed to that tick.
	readTCP   bool
	tcpEvents uint64
	// logger, when set, gets a line each time the period of full
	// re-reads changes; every is the period last set.
	logger hclog.Logger
	every  int
}

// next plans the coming tick and sets the pipeline's period of full
// re-reads for it: events-full-rescan-every while both sources are
// healthy, full-rescan-every otherwise; lost TCP events make it a full
// re-read.
func (e *eventState) next(p *pipeline.Pipeline, extra bool) tickPlan {
	plan := tickPlan{extra: extra}
	healthy := e.procs && e.tcp != nil && !e.tcp.failed.Load()
	lost := e.tcp != nil && e.tcp.newLoss()
	if lost {
		p.ForceFull()
	}
	e.usePeriod(p, healthy && !lost)
	if e.tcp == nil {
		return plan
	}
	plan.tcpLost = e.tcp.lost
	// Counted before the tick reads: an event that comes while it reads
	// makes the next tick read again, whether or not the tables show it.
	plan.tcpEvents = e.tcp.conns.Stats().Events
	if lost {
		return plan
	}
	plan.tcpUnchanged = e.readTCP && plan.tcpEvents == e.tcpEvents && !e.tcp.failed.Load()
	plan.quiet = e.procs && !e.saw && !extra && plan.tcpUnchanged
	plan.reconcile = plan.quiet && e.lastQuiet
	return plan
}

// usePeriod sets the pipeline's period of full re-reads for sources that
// vouch for the host or not, and logs a change.
func (e *eventState) usePeriod(p *pipeline.Pipeline, vouch bool) {
	p.UseEventsPeriod(vouch)
	every := p.FullRescanEvery()
	if every == e.every {
		return
	}
	if e.logger != nil {
		if vouch {
			e.logger.Info("event sources healthy, full re-reads are a safety net", "full_rescan_every_ticks", every)
		} else if e.every != 0 {
			e.logger.Info("event sources no longer vouch for the host, full re-reads at the polling period", "full_rescan_every_ticks", every)
		}
	}
	e.every = every
}

// reread has the next tick read again the processes of b that called
// execve or changed their uid: a steady tick reads only their stat, which
// shows neither (an exec of the same program keeps its comm), and with
// the events' longer period the next full re-read may be far.
func reread(p *pipeline.Pipeline, b procevents.Batch) {
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Leader() && (ev.Kind == procevents.KindExec || ev.Kind == procevents.KindUID) {
			p.Reread(int(ev.TGID))
		}
	}
}

// ticked records how the tick planned as plan ran.
func (e *eventState) ticked(plan tickPlan, out tickOutcome) {
	e.saw, e.lastQuiet = false, out.quiet
	if out.readTCP {
		e.readTCP, e.tcpEvents = true, plan.tcpEvents
	}
}

// waker decides when process events wake the tick loop: its timer fires
// at the earliest wanted time, but no sooner than minGap after the last
// tick. A wake is wanted only for what a tick would publish, so that a
// host that forks all the time does not tick all the time: an exit of a
// published process (or of any, with min-lifetime 0, since one read at
// exec is published once with its exit), and a process that is still
// alive once old enough.
type waker struct {
	minLifetime time.Duration
	timer       *time.Timer
	// last is when the last tick ended.
	last time.Time
	// due are the times a tick is wanted, in dueStep units since the
	// epoch, rounded up, each with the pids that must still be alive then
	// for the wake to be worth a tick; anyPID makes it unconditional.
	due map[int64][]int32
	// alive reports whether a process still exists; a field for tests.
	alive func(pid int32) bool
}

// anyPID in due makes a wake unconditional.
const anyPID int32 = 0

// kthreadd is the parent of every kernel thread, which is never
// published.
const kthreadd = 2

func newWaker(minLifetime time.Duration) *waker {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waker{minLifetime: minLifetime, timer: t, due: make(map[int64][]int32), alive: processAlive}
}

// processAlive reports whether pid exists (a zombie does): kill with no
// signal fails with ESRCH for a pid that does not, and with EPERM for
// another user's process.
func processAlive(pid int32) bool {
	return unix.Kill(int(pid), 0) != unix.ESRCH
}

// ticked forgets the wakes that the tick ending at now served and arms
// the timer for the next.
func (w *waker) ticked(now time.Time) {
	w.last = now
	for d := range w.due {
		if !fromStep(d).After(now) {
			delete(w.due, d)
		}
	}
	w.arm()
}

// fire is called when the timer fired, at now: it reports whether a tick
// is wanted, that is whether a wake due by now is unconditional or names
// a process that is still alive. Either way the due wakes are used up and
// the timer armed for the next.
func (w *waker) fire(now time.Time) bool {
	want := false
	for d, pids := range w.due {
		if fromStep(d).After(now) {
			continue
		}
		delete(w.due, d)
		for _, pid := range pids {
			if want = want || pid == anyPID || w.alive(pid); want {
				break
			}
		}
	}
	w.arm()
	return want
}

// batch records the wakes that batch b asks for, at now: one at once for
// lost events (which also call forceFull, to make the next tick full) and for the
// exit of a published process (or of any, with min-lifetime 0); for a new
// process (fork, not of kthreadd) or program (exec), one when it is old
// enough, if it still lives then (at once with min-lifetime 0).
// published reports whether a pid is in the last published state.
func (w *waker) batch(b procevents.Batch, now time.Time, forceFull func(), published func(pid int) bool) {
	if b.Lost {
		forceFull()
		w.want(now, anyPID)
	}
	for i := range b.Events {
		ev := &b.Events[i]
		if !ev.Leader() {
			continue
		}
		switch ev.Kind {
		case procevents.KindExit:
			if w.minLifetime == 0 || published(int(ev.TGID)) {
				w.want(now, anyPID)
			}
		case procevents.KindFork, procevents.KindExec:
			if ev.Kind == procevents.KindFork && ev.ParentTGID == kthreadd {
				continue
			}
			at, pid := wallTime(ev.Time, now), anyPID
			if w.minLifetime > 0 {
				at, pid = at.Add(w.minLifetime+startSlack), ev.TGID
			}
			w.want(at, pid)
		}
	}
	w.arm()
}

// want records a wake at t for pid (anyPID: unconditional).
func (w *waker) want(t time.Time, pid int32) {
	d := toStep(t)
	pids := w.due[d]
	if len(pids) > 0 && pids[0] == anyPID {
		return // unconditional already
	}
	if pid == anyPID {
		w.due[d] = append(pids[:0], anyPID)
		return
	}
	w.due[d] = append(pids, pid)
}

// arm sets the timer to the earliest wake wanted, but no sooner than
// minGap after the last tick, or stops it when none is.
func (w *waker) arm() {
	w.timer.Stop()
	if len(w.due) == 0 {
		return
	}
	at := fromStep(slices.Min(slices.Collect(maps.Keys(w.due))))
	if earliest := w.last.Add(minGap); at.Before(earliest) {
		at = earliest
	}
	w.timer.Reset(time.Until(at))
}

// toStep is t in dueStep units since the epoch, rounded up.
func toStep(t time.Time) int64 {
	n := t.UnixNano()
	s := n / int64(dueStep)
	if n%int64(dueStep) > 0 {
		s++
	}
	return s
}

// fromStep is the time of s dueStep units since the epoch.
func fromStep(s int64) time.Time { return time.Unix(0, s*int64(dueStep)) }
