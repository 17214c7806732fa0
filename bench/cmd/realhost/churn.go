package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// readyTimeout bounds how long a child may take to say it is ready.
const readyTimeout = 2 * time.Minute

// churn runs the churn children for h.opts.churn while f follows the
// agent, waits for the first state scanned after the last connection
// closed, and checks every connection's ends.
func (h *harness) churn(ctx context.Context, f *follower) (attribution, error) {
	linger := "-child-linger=" + h.opts.linger.String()
	srv, err := startChild(h.g, h.self, "churn server", "-child-server", linger)
	if err != nil {
		return attribution{}, err
	}
	defer srv.stop(10 * time.Second)
	fields, err := srv.ready(ctx, readyTimeout)
	if err != nil {
		return attribution{}, err
	}
	var srvPID, lport int
	if len(fields) != 2 {
		return attribution{}, fmt.Errorf("churn server said ready %q, want PID PORT", fields)
	}
	if srvPID, err = strconv.Atoi(fields[0]); err == nil {
		lport, err = strconv.Atoi(fields[1])
	}
	if err != nil {
		return attribution{}, fmt.Errorf("churn server's ready line: %w", err)
	}
	seen := newSightings(uint16(lport), h.opts.interval)
	unwatch := f.watch(seen.observe)
	defer unwatch()

	addr := "-child-addr=127.0.0.1:" + strconv.Itoa(lport)
	var clients []*clientRun
	defer func() {
		for _, c := range clients {
			c.stop()
		}
	}()
	for _, r := range []struct {
		name string
		rate int
	}{{"churn client", h.opts.churnRate}, {"outbound client", h.opts.outboundRate}} {
		if r.rate <= 0 {
			continue
		}
		c, err := startClient(ctx, h, r.name, r.rate, addr, linger)
		if err != nil {
			return attribution{}, err
		}
		clients = append(clients, c)
	}
	h.logf("churn: server pid %d on port %d, %d clients for %v", srvPID, lport, len(clients), h.opts.churn)
	if err := sleepCtx(ctx, h.opts.churn); err != nil {
		return attribution{}, err
	}
	var conns []conn
	var dialErrors int
	end := time.Now().UnixMilli()
	for _, c := range clients {
		if err := c.stop(); err != nil {
			return attribution{}, err
		}
		conns = append(conns, c.conns...)
		dialErrors += c.failed
		for _, x := range c.conns {
			end = max(end, x.when.to)
		}
	}
	clients = nil
	// A connection is in the Closed list of the first tick after it
	// closed; give the agent half a second to have seen the close.
	if _, err := f.waitFor(ctx, h.opts.interval+time.Minute, func(s *snapshot.Snapshot) bool {
		return s.Host.ScanTime.UnixMilli() > end+500
	}); err != nil {
		return attribution{}, fmt.Errorf("wait for the tick after the churn: %w", err)
	}
	unwatch()
	a := seen.match(conns, srvPID)
	a.dialErrors = dialErrors
	a.changesDropped = f.dropped()
	return a, nil
}

// clientRun is a running client child and what it reported.
type clientRun struct {
	c         *child
	collected sync.WaitGroup
	// conns and failed are valid after stop.
	conns   []conn
	failed  int
	done    bool
	stopped bool
}

// startClient starts a client child dialling rate connections a second
// and collects its lines.
func startClient(ctx context.Context, h *harness, name string, rate int, args ...string) (*clientRun, error) {
	c, err := startChild(h.g, h.self, name, append([]string{"-child-client=" + strconv.Itoa(rate)}, args...)...)
	if err != nil {
		return nil, err
	}
	r := &clientRun{c: c}
	fields, err := c.ready(ctx, readyTimeout)
	if err == nil && len(fields) != 1 {
		err = fmt.Errorf("%s said ready %q, want PID", name, fields)
	}
	var pid int
	if err == nil {
		pid, err = strconv.Atoi(fields[0])
	}
	if err != nil {
		r.stop()
		return nil, err
	}
	r.collected.Add(1)
	go func() {
		defer r.collected.Done()
		for line := range c.lines {
			if x, ok := parseConnLine(line); ok {
				x.pid = pid
				r.conns = append(r.conns, x)
			} else if f := strings.Fields(line); len(f) == 3 && f[0] == "done" {
				r.failed, _ = strconv.Atoi(f[2])
				r.done = true
			}
		}
	}()
	return r, nil
}

// stop ends the client, waits for its last lines and checks it said done.
func (r *clientRun) stop() error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	err := r.c.stop(30 * time.Second)
	r.collected.Wait()
	if err == nil && !r.done {
		err = fmt.Errorf("%s (pid %d) ended without its done line", r.c.name, r.c.pid)
	}
	return err
}
