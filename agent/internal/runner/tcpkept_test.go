package runner

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/tcpevents"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestTCPTablesKept runs ticks on a generated host with the eBPF TCP
// events loaded into a ring nobody reads, so that the test alone decides
// which TCP events the loop sees. A tick that process events woke, with no
// TCP event since the last tick that read the TCP tables, keeps their rows:
// a listener written into the table meanwhile is not published. Once a
// TCP event arrives, the next tick reads the tables and publishes it.
func TestTCPTablesKept(t *testing.T) {
	const (
		ns    = 4026531840
		inode = 30099
	)
	root := t.TempDir()
	tree, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", root, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, src := unreadSource(t, 16<<20) // room for the machine's own TCP events
	cfg := config.Default()
	cfg.ProcRoot, cfg.MinLifetime, cfg.HostID = root, 0, "kept-host"
	l, parts := testLoop(t, &cfg)
	l.use(parts, src.conns)
	ev := eventState{procs: true, tcp: src}
	listening := func() bool {
		return slices.ContainsFunc(parts.Pipeline.Last().SocketRows, func(s snapshot.SocketRow) bool { return s.Inode == inode })
	}

	if out := planTick(t, l, parts, &ev, false); !out.readTCP {
		t.Fatalf("the first tick: %+v, want it to read the TCP tables", out)
	}
	// sshd (400) listens on a new port: its table row and fd.
	e := fakeproc.SockEntry{Local: netip.MustParseAddrPort("0.0.0.0:2222"), Remote: netip.MustParseAddrPort("0.0.0.0:0"),
		State: fakeproc.TCPListen, Inode: inode}
	if !tree.AddSocket(ns, fakeproc.TCP, e, 400) {
		t.Fatal("no process 400")
	}
	i := slices.IndexFunc(tree.Procs, func(p fakeproc.Proc) bool { return p.PID == 400 })
	if err := tree.Rewrite(root, tree.Procs[i]); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, ".fakeproc", "net", strconv.Itoa(ns), "tcp")
	if err := os.WriteFile(file, fakeproc.NetTable(fakeproc.TCP, tree.NetNS[ns].TCP), 0o444); err != nil {
		t.Fatal(err)
	}

	plan := ev.next(parts.Pipeline, true)
	if !plan.tcpUnchanged || plan.quiet {
		t.Fatalf("a tick woken by process events with no TCP event since: %+v, want it to keep the TCP tables", plan)
	}
	out := l.tick(t.Context(), parts, plan)
	ev.ticked(plan, out)
	if out.readTCP || out.quiet {
		t.Errorf("the tick that was to keep the TCP tables: %+v", out)
	}
	if listening() {
		t.Errorf("socket %d published from a TCP table that was to be kept", inode)
	}

	// The listen, as the eBPF program reports it.
	src.conns.Add(&tcpevents.Event{Kind: tcpevents.Listen})
	plan = ev.next(parts.Pipeline, true)
	if plan.tcpUnchanged {
		t.Fatal("the tick after a TCP event is planned to keep the TCP tables")
	}
	if out := l.tick(t.Context(), parts, plan); !out.readTCP {
		t.Errorf("the tick after a TCP event: %+v, want it to read the TCP tables", out)
	}
	if !listening() {
		t.Errorf("socket %d not published by the tick that read the TCP tables", inode)
	}
	if l.lastErr != "" {
		t.Fatal(l.lastErr)
	}
}
