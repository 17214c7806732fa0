package watchview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// follow starts a server, a subscriber following all hosts and, once it is
// subscribed, one publisher per host with one state submitted.
func follow(t *testing.T, hosts ...string) *natssub.Subscriber {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	t.Cleanup(func() {
		cancel()
		for _, d := range done {
			if err := <-d; err != nil {
				t.Error(err)
			}
		}
	})
	run := func(f func(context.Context) error) {
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- f(ctx) }()
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := natssub.New(nc, natssub.Config{ResyncMinGap: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(sub.Run)
	// Agents publish only when they have something new, so the subscriber
	// must be in place before their first snapshot: it no longer asks every
	// agent for one when it joins.
	select {
	case <-sub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber not ready")
	}
	for i, h := range hosts {
		p, err := publish.New(publish.Config{URL: srv.ClientURL(), HostID: h, Interval: time.Second, ResyncMinGap: time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		run(p.Run)
		s := &snapshot.Snapshot{Host: snapshot.Host{HostID: h, Hostname: h + ".example", ScanTime: time.Unix(1764000000, 0)},
			Processes: []snapshot.Process{{PID: 100 + i, PPID: 1, StartTime: 5, Name: "svc-" + h, ProcessName: "svc", MatchedRule: -1,
				Tags: map[string]string{"team": "core"}}},
			Sockets: []snapshot.Socket{{Proto: "tcp", LocalIP: "0.0.0.0", LocalPort: 8080, RemoteIP: "0.0.0.0", State: "LISTEN",
				Role: "server", Inode: 77, PIDs: []int{100 + i}}}}
		p.Submit(s, snapshot.Stats{})
	}
	return sub
}

func TestOnceJSONPrintsEachHostLikeScan(t *testing.T) {
	sub := follow(t, "host-b", "host-a")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Once(ctx, sub, &out, OnceConfig{Hosts: []string{"host-a", "host-b"}}); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var got []string
	for {
		var s snapshot.Snapshot
		if err := dec.Decode(&s); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("output is not a stream of snapshot objects: %v", err)
		}
		if len(s.Processes) != 1 || s.Processes[0].Name != "svc-"+s.Host.HostID || s.Processes[0].Tags["team"] != "core" {
			t.Fatalf("host %s: %+v", s.Host.HostID, s.Processes)
		}
		got = append(got, s.Host.HostID)
	}
	if strings.Join(got, ",") != "host-a,host-b" {
		t.Fatalf("hosts %v, want host-a,host-b in order", got)
	}
}

func TestOnceAnyHostSettles(t *testing.T) {
	sub := follow(t, "host-a")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Once(ctx, sub, &out, OnceConfig{Settle: 100 * time.Millisecond, Format: "table", Width: 100}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "svc-host-a") {
		t.Fatalf("table lacks the process:\n%s", out.String())
	}
}

func TestOnceReportsMissingHosts(t *testing.T) {
	sub := follow(t, "host-a")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := Once(ctx, sub, io.Discard, OnceConfig{Hosts: []string{"host-z"}})
	if !errors.Is(err, ErrNoHosts) || !strings.Contains(err.Error(), "host-z") {
		t.Fatalf("error %v, want ErrNoHosts naming host-z", err)
	}
}

func TestFrameShowsEveryHost(t *testing.T) {
	sub := follow(t, "host-a", "host-b")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := Once(ctx, sub, io.Discard, OnceConfig{Hosts: []string{"host-a", "host-b"}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	now := time.Unix(1764000005, 0)
	if err := Frame(&out, sub, Config{TTY: true, Width: 100, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	frame := out.String()
	for _, want := range []string{clearScreen, "hosts 2", "[host-a] in sync", "[host-b] in sync", "svc-host-a", "svc-host-b", "last scan 5s ago"} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
}

func TestLine(t *testing.T) {
	now := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	state := &snapshot.Snapshot{Processes: make([]snapshot.Process, 3), Sockets: make([]snapshot.Socket, 2)}
	tests := []struct {
		name string
		c    snapshot.Change
		want string
	}{
		{"delta counts", snapshot.Change{HostID: "h", Kind: snapshot.KindDelta, Seq: 4, State: state,
			Delta: &snapshot.Delta{Added: make([]snapshot.Process, 2), Removed: make([]snapshot.Key, 1), SocketsAdded: make([]snapshot.Socket, 1)}},
			"2026-11-25T23:00:00Z h delta seq=4 processes=3 (+2 ~0 -1) sockets=2 (+1 ~0 -0)\n"},
		{"heartbeat", snapshot.Change{HostID: "h", Kind: snapshot.KindHeartbeat, Seq: 4, State: state, Stats: &snapshot.Stats{ScanMicros: 900}},
			"2026-11-25T23:00:00Z h hb seq=4 processes=3 sockets=2 scan_us=900\n"},
		{"snapshot", snapshot.Change{HostID: "h", Kind: snapshot.KindSnapshot, Seq: 5, State: state},
			"2026-11-25T23:00:00Z h snapshot seq=5 processes=3 sockets=2\n"},
		{"resync", snapshot.Change{HostID: "h", Kind: snapshot.KindDelta, Seq: 5, NeedResync: true, Reason: "gap"},
			"2026-11-25T23:00:00Z h resync reason=\"gap\" seq=5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.c, now); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRunWritesLinesWhenNotATerminal(t *testing.T) {
	sub := follow(t, "host-a")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, sub, pw, Config{})
		pw.Close()
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := pr.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	deadline := time.After(20 * time.Second)
	for found := false; !found; {
		select {
		case l := <-lines:
			if strings.Contains(l, "\x1b") {
				t.Fatalf("ANSI escape in line output: %q", l)
			}
			found = strings.Contains(l, " host-a snapshot seq=") && strings.Contains(l, "processes=1")
		case <-deadline:
			t.Fatal("no snapshot line within 20s")
		}
	}
	cancel()
	go func() {
		for range lines { // drain until the pipe closes
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLineAndStatusEscapeTheHostID: the host id comes from a subject that
// any client on the bus may publish on; it must not reach the terminal as
// escape sequences.
func TestLineAndStatusEscapeTheHostID(t *testing.T) {
	const evil = "h\x1b]0;owned\x07\u202e"
	now := time.Unix(1764000005, 0)
	for _, out := range []string{
		Line(snapshot.Change{HostID: evil, NeedResync: true, Reason: "gap"}, now),
		Line(snapshot.Change{HostID: evil, Kind: snapshot.KindSnapshot}, now),
		status(snapshot.HostInfo{HostID: evil, Epoch: evil}, now),
	} {
		if strings.ContainsAny(out, "\x1b\x07\u202e") || !strings.Contains(out, `h\x1b]0;owned\x07\u202e`) {
			t.Errorf("host id not escaped: %q", out)
		}
	}
}
