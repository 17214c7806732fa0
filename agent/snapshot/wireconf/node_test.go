package wireconf

// The Node.js subscriber of examples/node-subscriber, another reader
// written from WIRE.md alone, run as a child process against the real
// publisher on a real server. It reuses the agent's side of
// conformance_test.go: the generated host, its changes and the JSON
// comparison.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/snapshot"
)

// nodeExample is examples/node-subscriber, from this package's directory.
const nodeExample = "../../../examples/node-subscriber"

// nodeLine is one line of `follow.mjs --print-json`: a host's state after
// a change.
type nodeLine struct {
	HostID     string         `json:"host_id"`
	Epoch      string         `json:"epoch"`
	Seq        uint64         `json:"seq"`
	Kind       string         `json:"kind"`
	Heartbeats int            `json:"heartbeats"`
	State      map[string]any `json:"state"`
	Stats      map[string]any `json:"stats"`
	Counts     map[string]int `json:"counts"`
}

// nodeFollower is a running follow.mjs and the lines it printed.
type nodeFollower struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read only after exited is closed
	lines  chan nodeLine
	exited chan struct{}
	err    error // cmd.Wait's, set before exited is closed
	last   nodeLine
}

// startNode runs follow.mjs for hostID until it has a state of seq >= seq
// confirmed by heartbeats heartbeats. It fails the test, naming `make
// node-deps`, when node or the example's packages are missing.
func startNode(t *testing.T, url string, seq uint64, heartbeats int) *nodeFollower {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: this test runs %s/follow.mjs with Node.js 20 or later; run `make node-deps` (it installs nodejs and npm with apt-get when missing, then the example's packages)", nodeExample)
	}
	for _, pkg := range []string{"nats", "fzstd"} {
		if _, err := os.Stat(filepath.Join(nodeExample, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s has no node_modules/%s: run `make node-deps` (npm ci in that directory)", nodeExample, pkg)
		}
	}
	cmd := exec.CommandContext(t.Context(), node, "follow.mjs", "--server", url, "--host", hostID, "--print-json",
		"--until-seq", strconv.FormatUint(seq, 10), "--heartbeats", strconv.Itoa(heartbeats),
		"--timeout", strconv.Itoa(int(5*waitLimit/time.Second)))
	cmd.Dir = nodeExample
	n := &nodeFollower{t: t, cmd: cmd, stderr: &bytes.Buffer{}, lines: make(chan nodeLine, 64), exited: make(chan struct{})}
	cmd.Stderr = n.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(n.exited)
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var l nodeLine
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&l); err != nil {
				l = nodeLine{Kind: "unreadable: " + err.Error()}
			}
			select {
			case n.lines <- l:
			case <-t.Context().Done():
			}
		}
		n.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		if n.cmd.Process != nil {
			_ = n.cmd.Process.Kill()
		}
		<-n.exited
	})
	return n
}

// follow waits until follow.mjs prints the state c.want.
func (n *nodeFollower) follow(c *conformance, what string) {
	n.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	diff := "no line printed"
	for {
		select {
		case l, ok := <-n.lines:
			if !ok {
				<-n.exited
				n.t.Fatalf("%s: follow.mjs exited (%v) before it had the agent's state (%s); its stderr:\n%s", what, n.err, diff, n.stderr)
			}
			n.last = l
			if l.State == nil {
				diff = "line without a state: " + l.Kind
				continue
			}
			if diff = difference(n.t, l.State, c.want); diff == "" {
				return
			}
			diff = fmt.Sprintf("seq %d (%s): %s", l.Seq, l.Kind, diff)
		case <-deadline.C:
			n.t.Fatalf("%s: follow.mjs never printed the agent's state within %v: last %s", what, waitLimit, diff)
		}
	}
}

// TestNodeSubscriberFollowsTheAgent: examples/node-subscriber/follow.mjs,
// in a real node process, ends every step with the agent's state: a join by
// resync request, a zstd and chunked full snapshot, deltas that add, change
// and remove processes and sockets (socket owners, role and state), short
// connections that last one tick, new host addresses, a host record change,
// an agent restart (a new epoch) and heartbeats, whose stats it merges.
// It then exits by itself once it has the last seq and its heartbeats.
func TestNodeSubscriberFollowsTheAgent(t *testing.T) {
	// The first run of the agent publishes before the subscriber starts.
	s := agentState(200, 1)
	c, stop := startConformance(t, s)

	// follow.mjs joins by a resync request: a full snapshot (seq 2), zstd
	// and chunked. Its last state is seq 5 of the second run, with 8
	// heartbeats; the first run ends at seq 3.
	const lastSeq, heartbeats = 5, 8
	n := startNode(t, c.srv.ClientURL(), lastSeq, heartbeats)
	n.follow(c, "join")

	// A delta: processes changed, added and removed; sockets whose owners,
	// role or state changed, added and removed; a short connection.
	next := clone(s)
	next.Host.ScanTime = s.Host.ScanTime.Add(10 * time.Second)
	for i := range 5 {
		next.Processes[10+i].Name = "renamed"
	}
	next.Processes = slices.Delete(next.Processes, 40, 42)
	next.Processes = append(next.Processes, snapshot.Process{PID: 9000, PPID: 100, StartTime: 1764000200000,
		Name: "child", ProcessName: "child", Cmdline: "child --n 0", UID: 1001, MatchedRule: -1})
	for i := range 5 {
		next.Sockets[60+i].PIDs = append(next.Sockets[60+i].PIDs, 9000) // a forked child holds it too
	}
	next.Sockets[70].Role, next.Sockets[71].State = "client", "CLOSE_WAIT"
	next.Sockets = slices.Delete(next.Sockets, 80, 90)
	next.Sockets = append(next.Sockets, snapshot.Socket{Proto: "tcp6", LocalIP: "2001:db8::5", LocalPort: 443,
		RemoteIP: "2001:db8::1:7", RemotePort: 50000, State: "ESTABLISHED", Role: "server", Inode: 90000,
		PIDs: []int{9000}, NetNSID: 4026531840})
	next.Closed = []snapshot.Connection{{Proto: "tcp", LocalIP: "10.0.0.5", LocalPort: 40612, RemoteIP: "10.0.0.7",
		RemotePort: 80, Role: "client", NetNSID: 4026531840, Cookie: 81234, PID: 9000, StartTime: 1764000200000,
		Name: "child", Opened: 1764000201240, Closed: 1764000201281}}
	next.Sort()
	s = next
	c.submit(s, 1)
	n.follow(c, "delta")

	// A restart: a new epoch, whose first message is a full snapshot.
	stop()
	c.startAgent()
	s = agentState(180, 2)
	s.Host.ScanTime = s.Host.ScanTime.Add(time.Hour)
	c.submit(s, 0)
	n.follow(c, "restart")

	// A delta that changes only sockets: an owner leaves, one socket's
	// owner changes, and a process's tags.
	tick := 1
	s = later(s, 1)
	s.Sockets[3].PIDs = []int{s.Processes[7].PID}
	s.Sockets[5].PIDs = append(s.Sockets[5].PIDs, s.Processes[9].PID)
	s.Processes[2].Tags = map[string]string{"team": "moved"}
	c.submit(s, tick)
	n.follow(c, "socket owners")

	// A process that exited within the tick and its short connection.
	s = later(s, 1)
	s.Processes = append(s.Processes, snapshot.Process{PID: 9933, PPID: 100, StartTime: 1764003741200, Name: "curl",
		ProcessName: "curl", Cmdline: "curl http://10.0.0.7/health", UID: 1001, MatchedRule: -1, Exited: 1764003741290})
	s.Closed = []snapshot.Connection{{Proto: "tcp", LocalIP: "10.0.0.5", LocalPort: 40777, RemoteIP: "10.0.0.7",
		RemotePort: 80, Role: "client", NetNSID: 4026531840, Cookie: 81300, PID: 9933, StartTime: 1764003741200,
		Name: "curl", Opened: 1764003741240, Closed: 1764003741281}}
	s.Sort()
	tick++
	c.submit(s, tick)
	n.follow(c, "exited process")

	// New addresses: a delta with the whole list; the exited process goes,
	// and the closed connections of the previous tick with it.
	s = later(s, 1)
	s.Processes = slices.DeleteFunc(s.Processes, func(p snapshot.Process) bool { return p.Exited != 0 })
	s.Addresses = slices.Clone(s.Addresses)
	s.Addresses[1] = snapshot.NetNSAddrs{NetNSID: 4026531841, Addrs: []snapshot.Addr{{IP: "172.17.0.2", PrefixLen: 16, Interface: "eth0"}}}
	tick++
	c.submit(s, tick)
	n.follow(c, "addresses")

	// A host record change with nothing else (seq 5).
	s = later(s, 1)
	s.Host.Hostname, s.Host.Network = "web-2.renamed", "vpc-7"
	tick++
	c.submit(s, tick)
	n.follow(c, "host record")

	// Quiet ticks: heartbeats move the scan time and bring the stats.
	for range heartbeats {
		s = later(s, 1)
		tick++
		c.submit(s, tick)
		n.follow(c, fmt.Sprintf("quiet tick %d", tick))
	}
	select {
	case <-n.exited:
	case <-time.After(waitLimit):
		t.Fatalf("follow.mjs had seq %d and %d heartbeats but did not exit", lastSeq, heartbeats)
	}
	if n.err != nil {
		t.Fatalf("follow.mjs: %v; its stderr:\n%s", n.err, n.stderr)
	}

	last := n.last
	if last.Seq != lastSeq || last.Heartbeats != heartbeats || last.Epoch != c.pub.Epoch() {
		t.Errorf("follow.mjs ended at epoch %s seq %d after %d heartbeats, want %s, %d, %d",
			last.Epoch, last.Seq, last.Heartbeats, c.pub.Epoch(), lastSeq, heartbeats)
	}
	// The merged stats: what the runner did not change is exact, the
	// counts come from the state, the publisher's counters are there.
	want := runnerStats(tick)
	want.Processes, want.Sockets = len(s.Processes), len(s.Sockets)
	g, w := generic(t, last.Stats), generic(t, want)
	for _, k := range []string{"scan_us", "tick_us", "processes", "sockets", "processes_seen", "rss_bytes", "plugin_calls"} {
		if g[k] != w[k] {
			t.Errorf("stats: %s is %v, the agent's %v", k, g[k], w[k])
		}
	}
	for _, k := range []string{"ticks", "quiet_ticks", "published_bytes", "published_messages", "last_full_bytes"} {
		if g[k] == nil {
			t.Errorf("stats: %s never came in %d heartbeats", k, heartbeats)
		}
	}
	for _, seen := range []string{"snapshot", "delta", "hb", "zstd", "chunked", "processes changed", "sockets changed",
		"sockets removed", "addresses changed", "epochs followed"} {
		if last.Counts[seen] == 0 {
			t.Errorf("follow.mjs saw no %s: the test lost coverage (counts %v)", seen, last.Counts)
		}
	}
	if r := last.Counts["resync"]; r != 1 {
		t.Errorf("follow.mjs asked for %d resyncs, want 1 (its join): a gap or a refusal; its stderr:\n%s", r, n.stderr)
	}
	if r := last.Counts["refused"]; r != 0 {
		t.Errorf("follow.mjs refused %d messages; its stderr:\n%s", r, n.stderr)
	}
	t.Logf("follow.mjs saw %v", last.Counts)
}
