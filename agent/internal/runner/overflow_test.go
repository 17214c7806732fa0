package runner

import (
	"errors"
	"os"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
	"github.com/proctag/proctag/agent/internal/tcpevents"
)

// TestRingOverflowReconciles loads the eBPF TCP events with a 4 KiB ring
// that nobody reads, so that 1,000 loopback connections overflow it: the
// tick after a quiet one must then not be quiet but a full re-read, and
// its state must hold the 2,000 connected sockets the lost events would
// have announced, and its stats must count the events lost.
func TestRingOverflowReconciles(t *testing.T) {
	tr, src := unreadSource(t, 4096)

	cfg := config.Default()
	cfg.MinLifetime, cfg.HostID = 0, "overflow-host"
	l, parts := testLoop(t, &cfg)
	l.use(parts, src.conns)
	ev := eventState{procs: true, tcp: src}

	if out := planTick(t, l, parts, &ev, false); out.quiet {
		t.Fatal("the first tick was quiet")
	}
	if out := planTick(t, l, parts, &ev, false); !out.quiet {
		t.Fatal("a tick with no event was not quiet")
	}

	pairs, err := loopconn.Open(1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pairs.Close() })
	if tr.Lost() == 0 {
		t.Fatal("1,000 connections did not overflow a 4 KiB ring")
	}
	plan := ev.next(parts.Pipeline, false)
	if plan.quiet {
		t.Fatal("the tick after lost events is planned quiet")
	}
	if plan.tcpUnchanged {
		t.Fatal("the tick after lost events is planned to keep the TCP tables")
	}
	if out := l.tick(t.Context(), parts, plan); out.quiet || !out.readTCP {
		t.Fatalf("the tick after lost events: %+v, want it to read the TCP tables", out)
	}
	if l.lastErr != "" {
		t.Fatal(l.lastErr)
	}
	if l.eventsLost == 0 || l.eventsLost != plan.tcpLost {
		t.Errorf("the tick counts %d lost events in its stats, the tracker had lost %d", l.eventsLost, plan.tcpLost)
	}
	held := 0
	for _, s := range parts.Pipeline.Last().SocketList() {
		if s.State == "ESTABLISHED" && (int(s.LocalPort) == pairs.Port || int(s.RemotePort) == pairs.Port) &&
			len(s.PIDs) == 1 && s.PIDs[0] == os.Getpid() {
			held++
		}
	}
	if held != 2000 {
		t.Errorf("the re-read state holds %d of the 2,000 connected sockets", held)
	}
	if ev.next(parts.Pipeline, false); src.newLoss() {
		t.Error("the loss is reported again")
	}
	// The unread ring goes on losing the events of other tests' sockets:
	// the tick counts what its plan saw.
	next := ev.next(parts.Pipeline, false)
	l.tick(t.Context(), parts, next)
	if l.eventsLost != next.tcpLost {
		t.Errorf("the next tick counts %d lost events, the tracker had lost %d", l.eventsLost, next.tcpLost)
	}
}

// unreadSource loads the eBPF TCP events with a ring of ringBytes that
// nobody reads, and returns the tracker and a source over it whose
// connection table keeps at most 100 closed connections.
func unreadSource(t *testing.T, ringBytes int) (*tcpevents.Tracker, *tcpSource) {
	t.Helper()
	tr, err := tcpevents.Open(tcpevents.Config{RingBufferBytes: ringBytes})
	if errors.Is(err, tcpevents.ErrNotPermitted) {
		t.Skip("BPF programs are refused here: ", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, &tcpSource{t: tr, conns: conns.New(conns.Config{MaxClosed: 100}), logger: hclog.NewNullLogger()}
}
