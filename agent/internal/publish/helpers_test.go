package publish

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

const waitLimit = 20 * time.Second

func testLogger(t *testing.T) hclog.Logger {
	t.Helper()
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: hclogWriter{t}})
}

type hclogWriter struct{ t *testing.T }

func (w hclogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func startServer(t *testing.T, cfg natsembed.Config) *natsembed.Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := natsembed.Start(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// connectJS connects to url as connect does, with a JetStream context.
func connectJS(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := connect(t, url)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// startPublisher runs a publisher until the test ends.
func startPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	p := newPublisher(t, cfg)
	runPublisher(t, p)
	return p
}

// newPublisher returns a publisher with the tests' defaults, not running.
func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	if cfg.HostID == "" {
		cfg.HostID = "host-a"
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.ReconnectWaitMax == 0 {
		cfg.ReconnectWaitMax = 200 * time.Millisecond
	}
	if cfg.ResyncMinGap == 0 {
		cfg.ResyncMinGap = 10 * time.Millisecond
	}
	p, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runPublisher runs p until the test ends, or until the returned stop is
// called (stop waits for Run to return).
func runPublisher(t *testing.T, p *Publisher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("publisher Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// watcher is a running subscriber and the changes it delivered.
type watcher struct {
	t   *testing.T
	sub *natssub.Subscriber
}

func startSubscriber(t *testing.T, nc *nats.Conn, cfg natssub.Config) *watcher {
	t.Helper()
	if cfg.ResyncMinGap == 0 {
		cfg.ResyncMinGap = 50 * time.Millisecond
	}
	sub, err := natssub.New(nc, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("subscriber Run: %v", err)
		}
	})
	return &watcher{t: t, sub: sub}
}

// ready waits until the subscriber's subscriptions are in place.
func (w *watcher) ready() {
	w.t.Helper()
	select {
	case <-w.sub.Ready():
	case <-time.After(waitLimit):
		w.t.Fatalf("subscriber not ready within %s", waitLimit)
	}
}

// waitChange reads changes until one satisfies ok, or fails the test at the
// deadline.
func (w *watcher) waitChange(what string, ok func(c snapshot.Change) bool) snapshot.Change {
	w.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case c, open := <-w.sub.Changes():
			if !open {
				w.t.Fatalf("changes closed while waiting for %s", what)
			}
			if ok(c) {
				return c
			}
		case <-deadline.C:
			w.t.Fatalf("no change within %s: %s", waitLimit, what)
		}
	}
}

// waitBefore is waitChange with a deadline of its own.
func (w *watcher) waitBefore(deadline time.Time, what string, ok func(c snapshot.Change) bool) snapshot.Change {
	w.t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case c, open := <-w.sub.Changes():
			if !open {
				w.t.Fatalf("changes closed while waiting for %s", what)
			}
			if ok(c) {
				return c
			}
		case <-timer.C:
			w.t.Fatalf("not by the deadline: %s", what)
		}
	}
}

// waitState waits for the change that gives host exactly want's processes
// and sockets (changes are buffered, so one that came before the call
// counts).
func (w *watcher) waitState(host string, want *snapshot.Snapshot) snapshot.Change {
	w.t.Helper()
	return w.waitChange(fmt.Sprintf("state of %s with %d processes", host, len(want.Processes)), func(c snapshot.Change) bool {
		return c.HostID == host && c.State != nil && sameContent(c.State, want)
	})
}

func sameContent(a, b *snapshot.Snapshot) bool {
	return len(a.Processes) == len(b.Processes) && a.NumSockets() == b.NumSockets() &&
		(len(a.Processes) == 0 || reflect.DeepEqual(a.Processes, b.Processes)) &&
		(a.NumSockets() == 0 || reflect.DeepEqual(a.SocketList(), b.SocketList()))
}

// waitCounter waits until the publisher's counters satisfy ok and returns
// them. Counters move on the publisher's goroutine; there is no event to
// wait on but their value.
func waitCounter(t *testing.T, p *Publisher, what string, ok func(st snapshot.Stats) bool) snapshot.Stats {
	t.Helper()
	var st snapshot.Stats
	waitfor.Until(t, waitLimit, func() bool {
		st = snapshot.Stats{}
		p.AddCounters(&st)
		return ok(st)
	}, "publisher counters never showed %s: %+v", what, &st)
	return st
}

// host builds a state of host-a with the given processes (pid, name) and one
// listening socket per process. Its host record has the tests' interval
// (newPublisher's default) and no epoch.
func host(scan int, procs ...snapshot.Process) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: "host-a", Hostname: "a.example",
		ScanTime: time.Date(2026, 1, 1, 0, 0, scan, 0, time.UTC), IntervalMS: 10000}}
	for _, p := range procs {
		s.Processes = append(s.Processes, p)
		s.SocketRows = append(s.SocketRows, snapshot.NewSocketRow("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p.PID)),
			netip.MustParseAddrPort("0.0.0.0:0"), "LISTEN", "server", uint64(p.PID)*10, 0, &[]int{p.PID}))
	}
	s.Sort()
	return s
}

func proc(pid int, name string) snapshot.Process {
	return snapshot.Process{PID: pid, PPID: 1, StartTime: int64(pid) * 1000, Name: name, ProcessName: name,
		Cmdline: "/usr/bin/" + name, MatchedRule: -1, Tags: map[string]string{"app": name}}
}

// bigHost is a state large enough to need several chunks at a small max
// payload even compressed.
func bigHost(n int) *snapshot.Snapshot {
	procs := make([]snapshot.Process, n)
	for i := range procs {
		procs[i] = proc(100+i, fmt.Sprintf("worker-%d-%x", i, i*7919))
		procs[i].Cmdline = fmt.Sprintf("/opt/app/bin/worker --id %d --token %x --shard %d", i, uint64(i)*0x9e3779b97f4a7c15, i%17)
	}
	return host(1, procs...)
}
