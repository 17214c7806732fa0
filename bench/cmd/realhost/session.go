package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
	"github.com/proctag/proctag/agent/snapshot"
)

// firstStateTimeout bounds the agent's start: its cold scan, first
// publish, and the resync this program may have to ask for.
const firstStateTimeout = 2 * time.Minute

// session is one run of the agent in one os-proc-events mode and what
// was measured on it.
type session struct {
	// mode was asked for; used ran (auto when on refused to start, see
	// fallback).
	mode, used, fallback string
	// procs and socks are the counts of the agent's first state.
	procs, socks int
	err          error

	// cpuPerMin is utime+stime over the idle window per minute; hwm the
	// agent's VmHWM after it; states the states received in the window
	// (a tick that changed nothing sends a heartbeat, not a state);
	// forks the host's forks in it (a quiet host has next to none).
	cpuPerMin time.Duration
	hwm       int64
	states    int
	forks     uint64
	// ticks and quiet are the agent's ticks in the window and how many of
	// them were quiet (the last state again, nothing read), from its
	// heartbeats' stats; ticksOK is false when they were not known.
	ticks, quiet uint64
	ticksOK      bool
	idleErr      error

	churn    attribution
	churnErr error

	// latencies of the probes seen, missing the probes never seen.
	latencies []time.Duration
	missing   int
	latErr    error
}

// startFollowed starts the agent in mode with os-proc-socket-min-lifetime
// minLifetime, ticking every interval, and follows it until its first
// state arrives.
func (h *harness) startFollowed(ctx context.Context, mode string, interval, minLifetime time.Duration) (*agent, *follower, *snapshot.Snapshot, error) {
	a, err := startAgent(ctx, h.g, h.opts.proctag, h.dir, mode, interval, minLifetime, "")
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := follow(ctx, a.natsURL, hostID, a.exited)
	if err != nil {
		a.stop()
		return nil, nil, nil, err
	}
	first, err := f.waitFor(ctx, firstStateTimeout, func(*snapshot.Snapshot) bool { return true })
	if errors.Is(err, errAgentExited) {
		err = a.exitError()
	}
	if err != nil {
		f.close()
		a.stop()
		return nil, nil, nil, fmt.Errorf("first state: %w", err)
	}
	return a, f, first, nil
}

// runSession measures, in mode: the quiet host's CPU after the warm-up,
// on an agent with the idle min-lifetime (DeepFlow's default, so that the
// host's own short-lived processes do not count as news) ticking every
// idle interval (see idleWindow); then, on an agent with min-lifetime 0
// at the interval, the new process latency when probe, and the churn.
func (h *harness) runSession(ctx context.Context, mode string, probe bool) *session {
	s := &session{mode: mode, used: mode}
	start := func(interval, minLifetime time.Duration) (*agent, *follower, *snapshot.Snapshot, error) {
		h.logf("agent with os-proc-events: %s, interval %v, min-lifetime %v", s.used, interval, minLifetime)
		a, f, first, err := h.startFollowed(ctx, s.used, interval, minLifetime)
		if s.used == "on" && errors.Is(err, errAgentExited) {
			s.used, s.fallback = "auto", err.Error()
			h.logf("os-proc-events: on refused to start, trying auto: %v", err)
			a, f, first, err = h.startFollowed(ctx, "auto", interval, minLifetime)
		}
		return a, f, first, err
	}
	a, f, first, err := start(h.opts.idleInterval, h.opts.idleMinLifetime)
	if err != nil {
		s.err = err
		return s
	}
	s.procs, s.socks = len(first.Processes), len(first.Sockets)
	h.logf("first state: %d processes, %d sockets; warm-up %v, idle %v at a %v interval", s.procs, s.socks, h.opts.warmup, h.opts.idle, h.opts.idleInterval)
	s.idleErr = h.idle(ctx, a, f, s)
	f.close()
	a.stop()
	if h.opts.idleOnly {
		return s
	}

	a, f, _, err = start(h.opts.interval, 0)
	if err != nil {
		s.err = err
		return s
	}
	defer a.stop()
	defer f.close()
	if probe {
		h.logf("latency: %d probes", h.opts.probes)
		s.latencies, s.missing, s.latErr = h.latency(ctx, f)
		if errors.Is(s.latErr, errAgentExited) {
			s.latErr = a.exitError()
		}
	}
	h.logf("churn: %v", h.opts.churn)
	s.churn, s.churnErr = h.churn(ctx, f)
	if err := a.alive(); err != nil && s.churnErr == nil {
		s.churnErr = err
	}
	return s
}

// idle measures the agent's CPU over h.opts.idle after h.opts.warmup,
// nothing else running but the quiet load and this program. The window is
// whole periods of events-full-rescan-every ticks (idleWindow), so that
// the events mode's full re-reads, rare by design, are in it in
// proportion whatever the phase: a tick straddling one edge of the window
// is matched by the same tick of the next period at the other.
func (h *harness) idle(ctx context.Context, a *agent, f *follower, s *session) error {
	if err := sleepCtx(ctx, h.opts.warmup); err != nil {
		return err
	}
	c0, err := readCPU(a.pid)
	if err != nil {
		return errors.Join(err, a.alive())
	}
	_, n0 := f.current()
	ticks0, quiet0, ok0 := tickCounts(f)
	forks0, err := readForks()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, h.opts.idle); err != nil {
		return err
	}
	c1, err := readCPU(a.pid)
	if err != nil {
		return errors.Join(err, a.alive())
	}
	_, n1 := f.current()
	ticks1, quiet1, ok1 := tickCounts(f)
	forks1, err := readForks()
	if err != nil {
		return err
	}
	s.cpuPerMin = time.Duration(float64(c1-c0) * float64(time.Minute) / float64(time.Since(t0)))
	s.states, s.forks = n1-n0, forks1-forks0
	if s.ticksOK = ok0 && ok1 && ticks1 >= ticks0 && quiet1 >= quiet0; s.ticksOK {
		s.ticks, s.quiet = ticks1-ticks0, quiet1-quiet0
	}
	if s.hwm, err = report.ReadHWM(a.pid); err != nil {
		return err
	}
	return a.alive()
}

// tickCounts returns the agent's tick and quiet tick totals as its last
// heartbeat's stats carried them (a state message in between may make
// them a tick behind), false before the first heartbeat.
func tickCounts(f *follower) (ticks, quiet uint64, ok bool) {
	info, found := f.sub.Info(hostID)
	if !found || info.Stats == nil {
		return 0, 0, false
	}
	return info.Stats.Ticks, info.Stats.QuietTicks, true
}

// sleepCtx waits d, the length of a measurement window, or until ctx is
// done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idleWindow returns the idle window for an agent ticking every interval:
// want rounded up to whole periods of eventsFullRescanEvery ticks, at
// least one, and the number of periods.
func idleWindow(want, interval time.Duration) (time.Duration, int) {
	period := eventsFullRescanEvery * interval
	n := max(int((want+period-1)/period), 1)
	return time.Duration(n) * period, n
}
