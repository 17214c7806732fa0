package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/natscluster"
	"github.com/proctag/proctag/agent/snapshot"
)

// harness is what the phases share.
type harness struct {
	opts    options
	self    string
	log     io.Writer
	start   time.Time
	cluster *natscluster.Cluster
	agents  *agents
	// subNode is the server the subscribers prefer, killNode the one
	// taken away: the one most publishers use.
	subNode, killNode int
}

// logf prints progress, with the time since the start.
func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "fleet %6.1fs: %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

// grace is how long a state may take from Submit to the subscriber while
// the fleet churns: a subscriber is current when it has every host's
// state submitted up to grace ago.
func (h *harness) grace() time.Duration { return max(h.opts.interval/5, 200*time.Millisecond) }

// poll is how often a wait asks a subscriber for its state.
func (h *harness) poll() time.Duration {
	return min(max(h.opts.interval/50, 20*time.Millisecond), 250*time.Millisecond)
}

// run starts the cluster, the fleet and the subscribers, runs the phases
// in order and returns what they measured. A phase that fails leaves its
// error in the figures and the later phases that need it are skipped.
func run(ctx context.Context, o options, self string, log io.Writer) (*figures, error) {
	h := &harness{opts: o, self: self, log: log, start: time.Now()}
	f := &figures{interval: o.interval, hosts: o.hosts, churn: o.churn, poll: h.poll(), grace: h.grace()}
	var err error
	h.cluster, err = natscluster.Start(natscluster.Options{})
	if err != nil {
		return nil, err
	}
	defer h.cluster.Close()
	h.logf("cluster up: %s", h.cluster.ClientURL())

	fl := newFleet(simOptions{hosts: o.hosts, procs: o.procs, sockets: o.sockets, seed: o.seed, network: "sim"}, time.Now())
	for _, sh := range fl.hosts {
		f.sockets += len(sh.socks)
	}
	h.logf("fleet generated: %d hosts, %d sockets", o.hosts, f.sockets)
	logger := hclog.New(&hclog.LoggerOptions{Name: "fleet", Level: hclog.Warn, Output: &f.pubLog, JSONFormat: true})
	h.agents, err = startAgents(fl, h.cluster.URLs(), 3, agentOptions{interval: o.interval,
		churnJobs: o.churnJobs, churnConns: o.churnConns, seed: o.seed}, logger)
	if err != nil {
		return nil, err
	}
	defer h.agents.Stop()
	h.pickNodes()

	if err := h.waitFirstStates(ctx); err != nil {
		return nil, err
	}
	subA, err := startSub(h.self, "subscriber", h.subURLs(), "sim", o.profiles, f.sockets, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer subA.stop()
	if !subA.ready.JetStream {
		return nil, errors.New("the subscriber does not use the JetStream stream")
	}
	f.initial, f.initialErr = h.waitCurrent(ctx, subA, 0, 4*o.interval+time.Minute)
	h.logf("subscriber has every host's state after %v (%v)", f.initial.took.Round(time.Millisecond), f.initialErr)
	if f.initialErr != nil {
		return f, nil
	}

	f.quiet, f.quietErr = h.window(ctx, subA, o.quietTicks)
	h.logf("quiet window done")
	h.agents.setChurn(o.churn)
	f.churning, f.churnErr = h.window(ctx, subA, o.churnTicks)
	h.logf("churn window done")

	subB, err := startSub(h.self, "late subscriber", h.subURLs(), "sim", o.profiles, f.sockets, 30*time.Second)
	if err != nil {
		f.lateErr = err
	} else {
		defer subB.stop()
		f.late, f.lateErr = h.waitCurrent(ctx, subB, h.grace(), 6*o.interval+time.Minute)
		f.late.took = time.Since(subB.started)
		f.lateAtSync, _ = subB.stats()
		h.logf("late subscriber has every host's state %v after its start (%v)", f.late.took.Round(time.Millisecond), f.lateErr)
	}

	f.killed = h.killNode
	f.killUsers = h.users(h.killNode)
	if err := h.cluster.Kill(h.killNode); err != nil {
		f.killErr = err
	} else {
		h.logf("killed server %d (%d publishers)", h.killNode, f.killUsers)
		f.kill, f.killErr = h.waitSteady(ctx, subA, h.grace(), 4*o.interval, 12*o.interval+time.Minute)
		h.logf("every host current again %v after the kill (%v)", f.kill.took.Round(time.Millisecond), f.killErr)
	}

	gen := h.agents.stopChurn()
	if err := h.until(ctx, "every host has submitted its state after the churn", 2*o.interval+time.Minute,
		func() bool { return h.agents.sinceGen(gen) }); err != nil {
		return nil, err
	}
	f.final, f.finalErr = h.waitCurrent(ctx, subA, 0, 4*o.interval+30*time.Second)
	if subB != nil {
		f.finalLate, f.finalLateErr = h.waitCurrent(ctx, subB, 0, 4*o.interval+30*time.Second)
	}
	h.logf("churn stopped; subscriber: %+v", f.final.check)

	f.subStats, f.statsErr = subA.stats()
	if subB != nil {
		f.lateStats, _ = subB.stats()
	}
	if err := subA.ask(cmdFlow, &f.flow); err != nil {
		f.flow.Error = err.Error()
	}
	h.logf("flow lookups: %+v", f.flow)
	f.published = h.agents.counters()
	return f, ctx.Err()
}

// pickNodes chooses the server to kill (the one most publishers use) and
// the one the subscribers prefer (the one fewest use, another one).
func (h *harness) pickNodes() {
	n := h.cluster.Nodes()
	h.killNode = 0
	for i := range n {
		if h.users(i) > h.users(h.killNode) {
			h.killNode = i
		}
	}
	h.subNode = -1
	for i := range n {
		if i != h.killNode && (h.subNode < 0 || h.users(i) <= h.users(h.subNode)) {
			h.subNode = i
		}
	}
}

// users is the number of publishers connected to server i first.
func (h *harness) users(i int) int {
	n := 0
	for _, ag := range h.agents.list {
		if ag.node == i {
			n++
		}
	}
	return n
}

// subURLs lists every server, the subscribers' preferred one first.
func (h *harness) subURLs() string {
	urls := h.cluster.URLs()
	urls = append(urls[h.subNode:], urls[:h.subNode]...)
	return strings.Join(urls, ",")
}

// waitFirstStates waits until every host has submitted a state and the
// stream the publishers create has a leader with every replica current.
func (h *harness) waitFirstStates(ctx context.Context) error {
	if err := h.until(ctx, "every host has submitted a state", 2*h.opts.interval+time.Minute, func() bool {
		return !slices.ContainsFunc(h.agents.list, func(ag *agent) bool { return !ag.submitted() })
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := h.cluster.WaitStreamLeader(ctx, snapshot.StreamName(snapshot.DefaultSubjectPrefix)); err != nil {
		return err
	}
	h.logf("every host submitted, stream up")
	return nil
}

// until checks cond every poll until it holds, or returns an error
// naming what at the deadline.
func (h *harness) until(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(h.poll())
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("not yet: %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
	return nil
}

// currency is how a subscriber's hosts compare with what they submitted.
type currency struct {
	// Current hosts are synced with a current digest; Stale hosts claim to
	// be synced with a digest that is not current; Unsynced hosts know
	// they are behind; Missing hosts have no state; Unchecked hosts have
	// one, not compared yet (while others are missing).
	Current, Stale, Unsynced, Missing, Unchecked int
	// Example names a host that is not current.
	Example string
}

// compare checks a subscriber's answer: a host is current when it is
// synced and its digest is of a state submitted at or after the last one
// submitted by by. Without digests (a hosts answer), a synced host is
// Unchecked.
func (h *harness) compare(a stateAnswer, by time.Time, digests bool) currency {
	var c currency
	for _, ag := range h.agents.list {
		v, ok := a.Hosts[ag.host.id]
		switch {
		case !ok:
			c.Missing++
		case v.Synced && !digests:
			c.Unchecked++
			continue
		case v.Synced && ag.current(v.Digest, by):
			c.Current++
			continue
		case v.Synced:
			c.Stale++
		default:
			c.Unsynced++
		}
		if c.Example == "" {
			c.Example = ag.host.id
		}
	}
	return c
}

// currentNow asks p for its state and compares it with the states
// submitted up to grace before the question.
func (h *harness) currentNow(p *subProc, grace time.Duration) (currency, error) {
	asked := time.Now()
	a, err := p.state()
	if err != nil {
		return currency{}, err
	}
	return h.compare(a, asked.Add(-grace), true), nil
}

// presentNow asks p which hosts it has, without having it hash their
// states: while some are missing, the others are Unchecked (or Unsynced),
// and the subscriber's CPU goes to the states, not to the measurement.
func (h *harness) presentNow(p *subProc) (currency, error) {
	a, err := p.hosts()
	if err != nil {
		return currency{}, err
	}
	return h.compare(a, time.Time{}, false), nil
}

// waited is what a wait for currency saw: how long it took (or waited),
// and the last comparison.
type waited struct {
	took  time.Duration
	check currency
	// worst is the most hosts not current at one poll (waitSteady).
	worst int
}

// waitCurrent asks p for its state every poll until every host is
// current (compare, with states submitted up to grace ago), or returns
// an error at the deadline, with the last comparison.
func (h *harness) waitCurrent(ctx context.Context, p *subProc, grace, timeout time.Duration) (waited, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(h.poll())
	defer tick.Stop()
	var w waited
	logged := start
	for {
		var err error
		if w.check, err = h.presentNow(p); err != nil {
			return w, err
		}
		if w.check.Missing == 0 {
			if w.check, err = h.currentNow(p, grace); err != nil {
				return w, err
			}
		}
		w.took = time.Since(start)
		if w.check.Current == len(h.agents.list) {
			return w, nil
		}
		if time.Since(logged) >= 2*time.Second {
			h.logf("%s: waiting, %+v", p.name, w.check)
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return w, fmt.Errorf("%s: not every host current within %v: %+v", p.name, timeout, w.check)
		case <-tick.C:
		}
	}
}

// waitSteady watches p for at least observe: took is the time from the
// start to the first of the polls since which every host has been
// current, every poll (0 when none ever was behind). When hosts are not
// current at the end of observe, it waits on until they are, or returns
// an error at the deadline.
func (h *harness) waitSteady(ctx context.Context, p *subProc, grace, observe, timeout time.Duration) (waited, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(h.poll())
	defer tick.Stop()
	var w waited
	var steadySince time.Duration // since start; -1 while hosts are behind
	for {
		asked := time.Since(start)
		var err error
		if w.check, err = h.currentNow(p, grace); err != nil {
			return w, err
		}
		if w.check.Current < len(h.agents.list) {
			steadySince = -1
			w.worst = max(w.worst, len(h.agents.list)-w.check.Current)
		} else if steadySince < 0 {
			steadySince = asked
		}
		if steadySince >= 0 && time.Since(start) >= observe {
			w.took = steadySince
			return w, nil
		}
		select {
		case <-ctx.Done():
			w.took = time.Since(start)
			return w, fmt.Errorf("%s: not every host current within %v: %+v", p.name, timeout, w.check)
		case <-tick.C:
		}
	}
}

// usage is a subscriber's usage over a window.
type usage struct {
	// took is the window's length; cpu the subscriber's CPU time in it.
	took time.Duration
	cpu  time.Duration
	// bytes and msgs are what it received in the window, by kind.
	bytes, msgs map[string]uint64
}

// cores is the CPU time as a number of cores busy.
func (u usage) cores() float64 { return u.cpu.Seconds() / u.took.Seconds() }

// total is every byte received.
func (u usage) total() uint64 {
	var n uint64
	for _, b := range u.bytes {
		n += b
	}
	return n
}

// window measures p's CPU time and received bytes over ticks intervals.
func (h *harness) window(ctx context.Context, p *subProc, ticks int) (usage, error) {
	s0, err := p.stats()
	if err != nil {
		return usage{}, err
	}
	t0 := time.Now()
	t := time.NewTimer(time.Duration(ticks) * h.opts.interval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return usage{}, ctx.Err()
	case <-t.C:
	}
	s1, err := p.stats()
	if err != nil {
		return usage{}, err
	}
	u := usage{took: time.Since(t0), cpu: time.Duration(s1.CPUNanos - s0.CPUNanos),
		bytes: map[string]uint64{}, msgs: map[string]uint64{}}
	for k, v := range s1.Bytes {
		u.bytes[k] = v - s0.Bytes[k]
		u.msgs[k] = s1.Msgs[k] - s0.Msgs[k]
	}
	return u, nil
}
