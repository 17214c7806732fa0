package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// probeLife is how long a probe process lives (sleep's argument, plus a
// unique fraction).
const probeLife = 2

// probes are the short processes of the latency measurement: when each
// started, and how long until a state that held its pid was received.
// Safe for concurrent use.
type probes struct {
	mu      sync.Mutex
	started map[int]time.Time
	latency map[int]time.Duration
	want    int
	all     chan struct{}
}

// newProbes expects want probes.
func newProbes(want int) *probes {
	return &probes{started: make(map[int]time.Time), latency: make(map[int]time.Duration), want: want, all: make(chan struct{})}
}

// add records that pid started at t.
func (p *probes) add(pid int, t time.Time) {
	p.mu.Lock()
	p.started[pid] = t
	p.mu.Unlock()
}

// observe is the watcher: a probe's first state.
func (p *probes) observe(at time.Time, s *snapshot.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range s.Processes {
		pid := s.Processes[i].PID
		t, ok := p.started[pid]
		// StartTime rests on btime, whole seconds: a process more than
		// 2 s older is an earlier one with the same pid.
		ok = ok && s.Processes[i].StartTime >= t.UnixMilli()-2000
		if _, done := p.latency[pid]; ok && !done {
			p.latency[pid] = at.Sub(t)
			if len(p.latency) == p.want {
				close(p.all)
			}
		}
	}
}

// result returns the latencies seen and how many probes were never seen.
func (p *probes) result() ([]time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ls []time.Duration
	for _, l := range p.latency {
		ls = append(ls, l)
	}
	return ls, len(p.started) - len(ls)
}

// latency starts h.opts.probes short processes, one every ~probeGap at a
// random phase, and measures for each the time from just before its start
// to the first state received that holds its pid.
func (h *harness) latency(ctx context.Context, f *follower) ([]time.Duration, int, error) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return nil, 0, err
	}
	p := newProbes(h.opts.probes)
	defer f.watch(p.observe)()
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range h.opts.probes {
		// Uniform in [gap/2, 3gap/2): starts fall at every phase of the
		// agent's ticks.
		gap := h.opts.probeGap/2 + rand.N(h.opts.probeGap)
		if err := sleepCtx(ctx, gap); err != nil {
			return nil, 0, err
		}
		cmd := exec.Command(sleep, fmt.Sprintf("%d.%03d", probeLife, i+1))
		start := time.Now()
		if err := h.g.start(cmd); err != nil {
			return nil, 0, fmt.Errorf("start probe %d: %w", i, err)
		}
		pid := cmd.Process.Pid
		wg.Go(func() {
			_ = cmd.Wait()
			h.g.done(pid)
		})
		p.add(pid, start)
		// A state that came between the start and add.
		if s, _ := f.current(); s != nil {
			p.observe(time.Now(), s)
		}
	}
	t := time.NewTimer(probeLife*time.Second + 3*time.Second)
	defer t.Stop()
	select {
	case <-p.all:
	case <-t.C:
	case <-f.agentExited:
		return nil, 0, errAgentExited
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	ls, missing := p.result()
	return ls, missing, nil
}
