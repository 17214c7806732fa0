package wireconf

// This file is the agent's side: the real publisher, a real server, the
// states it is given, and the checks. Only this file uses proctag's
// packages.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
)

const (
	hostID    = "4f3c2a9e1b7d4c0e8a6f5b3d2c1e0f9a"
	waitLimit = 20 * time.Second
	// maxPayload is small so that full snapshots and large deltas come in
	// several chunks.
	maxPayload = 4096
)

// agentState builds a host of n processes (long, poorly compressible
// command lines) and their sockets: TCP and UDP, IPv4 and IPv6 (and IPv4
// on tcp6 sockets, written as IPv4), listeners and connections, in two
// network namespaces.
func agentState(n int, seed uint64) *snapshot.Snapshot {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: hostID, Hostname: "web-1",
		ScanTime: time.Date(2026, 11, 25, 22, 47, 4, 120000000, time.UTC), IntervalMS: 10000,
		BootTime: 1764000000000, AgentVersion: "0.1.0"}}
	for i := range n {
		pid := 100 + i
		s.Processes = append(s.Processes, snapshot.Process{PID: pid, PPID: 1, StartTime: 1764000100000 + int64(i)*37,
			Name: fmt.Sprintf("svc-%d", i%13), ProcessName: "python3",
			Cmdline: fmt.Sprintf("python3 /srv/app/worker.py --id %d --token %016x%016x", i, rng.Uint64(), rng.Uint64()),
			Exe:     "/usr/bin/python3.12", User: "app", UID: 1001, NetNSID: 4026531840 + uint64(i%2),
			Tags: map[string]string{"team": []string{"payments", "search", "edge"}[i%3]}, MatchedRule: i % 4})
		local := []string{"10.0.0.5", "::1", "fe80::1", "127.0.0.1"}[i%4]
		proto := []string{"tcp", "tcp6", "tcp6", "tcp"}[i%4]
		if i%8 == 5 {
			proto = "tcp6" // an IPv4-mapped IPv6 socket, written as IPv4
		}
		s.Sockets = append(s.Sockets,
			snapshot.Socket{Proto: proto, LocalIP: local, LocalPort: uint16(8000 + i%50), RemoteIP: unspecified(local),
				State: "LISTEN", Role: "server", Inode: uint64(50000 + 2*i), PIDs: []int{pid}, NetNSID: 4026531840 + uint64(i%2)},
			snapshot.Socket{Proto: []string{"udp", "udp6"}[i%2], LocalIP: []string{"0.0.0.0", "::"}[i%2], LocalPort: uint16(40000 + i),
				RemoteIP: []string{"10.1.2.3", "2001:db8::7"}[i%2], RemotePort: 53, State: "ESTABLISHED", Role: "client",
				Inode: uint64(50001 + 2*i), PIDs: []int{pid}, NetNSID: 4026531840 + uint64(i%2)})
	}
	s.Addresses = []snapshot.NetNSAddrs{
		{NetNSID: 4026531840, Addrs: []snapshot.Addr{{IP: "10.0.0.5", PrefixLen: 24, Interface: "eth0"},
			{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}, {IP: "::1", PrefixLen: 128, Interface: "lo"}}},
		{NetNSID: 4026531841, Addrs: []snapshot.Addr{}}}
	s.Sort()
	return s
}

func unspecified(ip string) string {
	if strings.Contains(ip, ":") {
		return "::"
	}
	return "0.0.0.0"
}

// clone returns a deep enough copy of s to change processes and sockets.
func clone(s *snapshot.Snapshot) *snapshot.Snapshot {
	c := *s
	c.Processes = slices.Clone(s.Processes)
	c.Sockets = slices.Clone(s.Sockets)
	for i := range c.Sockets {
		c.Sockets[i].PIDs = slices.Clone(c.Sockets[i].PIDs)
	}
	c.Closed, c.ClosedDropped = nil, 0
	return &c
}

// later returns s one tick later: only the scan time moves (a quiet tick).
func later(s *snapshot.Snapshot, ticks int) *snapshot.Snapshot {
	c := clone(s)
	c.Host.ScanTime = c.Host.ScanTime.Add(time.Duration(ticks)*10*time.Second + 3*time.Millisecond)
	return c
}

// runnerStats are a quiet agent's stats as the runner fills them.
func runnerStats(tick int) snapshot.Stats {
	return snapshot.Stats{ScanMicros: 412, TickMicros: 903, ProcessesSeen: 240, Ticks: 100 + uint64(tick),
		RSSBytes: 31457280, QuietTicks: 90 + uint64(tick), PluginCalls: 17}
}

// generic is v's JSON as generic values, without the top-level fields
// that are null or empty lists (a nil and an empty list are the same
// state).
func generic(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	for k, v := range out {
		if l, isList := v.([]any); v == nil || (isList && len(l) == 0) {
			delete(out, k)
		}
	}
	return out
}

// difference describes how got differs from want, "" when it does not.
func difference(t *testing.T, got, want map[string]any) string {
	t.Helper()
	g, w := generic(t, got), generic(t, want)
	if reflect.DeepEqual(g, w) {
		return ""
	}
	gb, _ := json.MarshalIndent(g, "", " ")
	wb, _ := json.MarshalIndent(w, "", " ")
	gl, wl := strings.Split(string(gb), "\n"), strings.Split(string(wb), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			return fmt.Sprintf("line %d: got %s, want %s", i+1, gl[i], wl[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(gl), len(wl))
}

// note is a message that a waited-for condition updates; waitfor prints
// it as it was at the deadline.
type note string

func (n *note) String() string { return string(*n) }

// conformance runs one agent and the readers.
type conformance struct {
	t   *testing.T
	srv *natsembed.Server
	r   *reader
	asm *snapshot.Assembler // the package's own subscriber, on the same messages
	pub *publish.Publisher
	// want is the state the agent was last given, as generic JSON, its
	// scan time in UTC.
	want map[string]any
}

// startAgent runs a publisher for hostID until stop is called or the test
// ends.
func (c *conformance) startAgent() (stop func()) {
	c.t.Helper()
	p, err := publish.New(publish.Config{URL: c.srv.ClientURL(), HostID: hostID, Interval: 10 * time.Second,
		FullEvery: 7, ResyncMinGap: time.Millisecond, ReconnectWaitMax: 50 * time.Millisecond}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				c.t.Errorf("publisher: %v", err)
			}
		}
	}
	c.t.Cleanup(stop)
	c.pub = p
	return stop
}

// startConformance starts a server and the agent on it, and has the agent
// publish first before anyone listens. stop stops the agent.
func startConformance(t *testing.T, first *snapshot.Snapshot) (c *conformance, stop func()) {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0", MaxPayloadBytes: maxPayload}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	c = &conformance{t: t, srv: srv}
	stop = c.startAgent()
	c.submit(first, 0)
	waitfor.Until(t, waitLimit, func() bool {
		var st snapshot.Stats
		c.pub.AddCounters(&st)
		return st.PublishedMessages > 0
	}, "the first snapshot never went out")
	return c, stop
}

// submit gives the agent s with the runner's stats of tick.
func (c *conformance) submit(s *snapshot.Snapshot, tick int) {
	c.t.Helper()
	s.Host.Epoch = c.pub.Epoch()
	want := *s
	want.Host.ScanTime = want.Host.ScanTime.UTC()
	c.want = generic(c.t, &want)
	c.pub.Submit(s, runnerStats(tick))
}

// follow waits until both readers hold the state the agent was last given.
func (c *conformance) follow(what string) {
	c.t.Helper()
	var diff note
	waitfor.Until(c.t, waitLimit, func() bool {
		got, ok := c.r.state(hostID)
		if !ok {
			diff = "the WIRE.md reader has no state"
			return false
		}
		if d := difference(c.t, got, c.want); d != "" {
			diff = note("the WIRE.md reader: " + d)
			return false
		}
		st, ok := c.asm.State(hostID)
		if !ok {
			diff = "the assembler has no state"
			return false
		}
		if d := difference(c.t, generic(c.t, st), c.want); d != "" {
			diff = note("the assembler: " + d)
			return false
		}
		return true
	}, "%s: the state never matched the agent's: %s", what, &diff)
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if len(c.r.errs) > 0 {
		c.t.Fatalf("%s: the WIRE.md reader failed: %v", what, c.r.errs)
	}
}

// TestReaderFromWIREmdFollowsTheAgent: a reader written from WIRE.md alone
// ends every step with the agent's state (and the agent's stats), through
// a join by resync request, deltas that add, change and remove processes
// and sockets (owners, roles), heartbeats, a host record change, zstd and
// chunked messages, periodic full snapshots, new host addresses, a scan
// time given in another zone, and a restart of the agent.
func TestReaderFromWIREmdFollowsTheAgent(t *testing.T) {
	// The agent publishes before anyone listens.
	s := agentState(200, 1)
	c, stop := startConformance(t, s)

	nc, err := nats.Connect(c.srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if c.r, err = newReader(nc, "proctag"); err != nil {
		t.Fatal(err)
	}
	if c.asm, err = snapshot.NewAssembler(snapshot.AssemblerConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe("proctag.v1.*.*", func(m *nats.Msg) {
		if !strings.HasSuffix(m.Subject, ".control") {
			_, _ = c.asm.Feed(m.Subject, m.Header, m.Data) // the WIRE.md reader asks for the resyncs
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// Join: the first message heard is a heartbeat; the reader asks for a
	// resync and gets a full snapshot (zstd, chunked).
	tick := 1
	s = later(s, tick)
	c.submit(s, tick)
	c.follow("join")

	// A delta: processes changed, added and removed; sockets whose owners,
	// role or state changed, added and removed; short connections.
	next := clone(s)
	next.Host.ScanTime = s.Host.ScanTime.Add(10 * time.Second)
	for i := 0; i < 5; i++ {
		next.Processes[10+i].Name = "renamed"
		next.Processes[20+i].Tags = map[string]string{"team": "moved"}
	}
	next.Processes = slices.Delete(next.Processes, 40, 42)
	for i := range 3 {
		next.Processes = append(next.Processes, snapshot.Process{PID: 9000 + i, PPID: 100, StartTime: 1764000200000,
			Name: "child", ProcessName: "child", Cmdline: "child --n " + fmt.Sprint(i), UID: 1001, MatchedRule: -1})
	}
	for i := range 5 {
		next.Sockets[60+i].PIDs = append(next.Sockets[60+i].PIDs, 9000) // a forked child holds it too
	}
	next.Sockets[70].Role, next.Sockets[71].State = "client", "CLOSE_WAIT"
	next.Sockets = slices.Delete(next.Sockets, 80, 90)
	for i := range 10 {
		next.Sockets = append(next.Sockets, snapshot.Socket{Proto: "tcp6", LocalIP: "2001:db8::5", LocalPort: 443,
			RemoteIP: fmt.Sprintf("2001:db8::%x", 100+i), RemotePort: uint16(50000 + i), State: "ESTABLISHED", Role: "server",
			Inode: uint64(90000 + i), PIDs: []int{9001}, NetNSID: 4026531840})
	}
	next.Closed = []snapshot.Connection{{Proto: "tcp", LocalIP: "10.0.0.5", LocalPort: 40612, RemoteIP: "10.0.0.7",
		RemotePort: 80, Role: "client", NetNSID: 4026531840, Cookie: 81234, PID: 9000, StartTime: 1764000200000,
		Name: "child", Opened: 1764000201240, Closed: 1764000201281}}
	next.Sort()
	s, tick = next, tick+1
	c.submit(s, tick)
	c.follow("delta")

	// Quiet ticks: heartbeats. The state's scan time moves and the short
	// connections of the delta's tick are gone; the stats arrive.
	for range 8 {
		tick++
		s = later(s, 1)
		c.submit(s, tick)
		c.follow(fmt.Sprintf("quiet tick %d", tick))
	}
	// The stats: what did not change is exact, each counter a few ticks
	// old at most (a heartbeat carries what fits in 300 bytes, the rest
	// follows), and the publisher's own counters are there.
	var diff note
	waitfor.Until(t, waitLimit, func() bool {
		got, want := c.r.stats(hostID), runnerStats(tick)
		want.Processes, want.Sockets = len(s.Processes), len(s.Sockets)
		g := generic(t, got)
		for k, v := range generic(t, want) {
			if k == "ticks" || k == "quiet_ticks" {
				n, _ := g[k].(json.Number).Int64()
				w, _ := v.(json.Number).Int64()
				if n > w || n < w-3 {
					diff = note(fmt.Sprintf("%s is %v, the agent's %v: more than 3 ticks behind", k, g[k], v))
					return false
				}
			} else if g[k] != v {
				diff = note(fmt.Sprintf("%s is %v, the agent's %v", k, g[k], v))
				return false
			}
		}
		for _, k := range []string{"published_bytes", "published_messages", "last_full_bytes"} {
			if g[k] == nil {
				diff = note(k + " never came")
				return false
			}
		}
		return true
	}, "the WIRE.md reader's stats: %s", &diff)
	// Stats a heartbeat leaves out keep their value: one more quiet tick
	// changes nothing the reader shows but the counters that moved.
	tick++
	s = later(s, 1)
	c.submit(s, tick)
	c.follow("quiet tick after the stats")

	// A host record change with nothing else: a delta, never a heartbeat.
	s = later(s, 1)
	s.Host.Hostname, s.Host.Network = "web-1.renamed", "vpc-7"
	tick++
	c.submit(s, tick)
	c.follow("host record")

	// New addresses: a delta with the whole list.
	s = later(s, 1)
	s.Addresses = slices.Clone(s.Addresses)
	s.Addresses[1] = snapshot.NetNSAddrs{NetNSID: 4026531841, Addrs: []snapshot.Addr{{IP: "172.17.0.2", PrefixLen: 16, Interface: "eth0"}}}
	tick++
	c.submit(s, tick)
	c.follow("addresses")

	// A large delta: zstd, chunked.
	next = clone(s)
	next.Host.ScanTime = s.Host.ScanTime.Add(10 * time.Second)
	for i := range 150 {
		next.Processes[i].Cmdline += fmt.Sprintf(" --epoch %x", uint64(i)*0x9e3779b97f4a7c15)
	}
	s, tick = next, tick+1
	c.submit(s, tick)
	c.follow("large delta")

	// A scan time given in another zone goes out, and is read, in UTC.
	s = later(s, 1)
	s.Host.ScanTime = s.Host.ScanTime.In(time.FixedZone("CET", 3600))
	tick++
	c.submit(s, tick)
	c.follow("scan time in CET")

	// A restart: a new epoch, whose first message is a full snapshot.
	stop()
	c.startAgent()
	s = agentState(180, 2)
	s.Host.ScanTime = s.Host.ScanTime.Add(time.Hour)
	c.submit(s, 0)
	c.follow("restart")
	s = later(s, 1)
	c.submit(s, 1)
	c.follow("quiet tick after the restart")

	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	for _, seen := range []string{"snapshot", "delta", "hb", "zstd", "chunked", "processes changed", "processes removed",
		"sockets changed", "sockets removed", "addresses changed"} {
		if c.r.counts[seen] == 0 {
			t.Errorf("the run had no %s: the test lost coverage", seen)
		}
	}
	if n := c.r.counts["resync"]; n != 1 {
		t.Errorf("the reader asked for %d resyncs, want 1 (its join): a gap or a refusal", n)
	}
	t.Logf("the WIRE.md reader saw %v", c.r.counts)
}
