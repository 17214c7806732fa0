package natssub

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestIncrementalMatchesRebuild applies random deltas (sockets, listeners,
// addresses and processes on a small address space, so that 4-tuples and
// addresses collide across hosts) and checks after each that the index
// answers every flow as an index built from the states alone does, and
// holds no more entries than it.
func TestIncrementalMatchesRebuild(t *testing.T) {
	for mode, name := range []string{"changes with states", "in place", "in place, lagging"} {
		t.Run(name, func(t *testing.T) {
			incrementalMatchesRebuild(t, mode)
		})
	}
}

// The modes of incrementalMatchesRebuild.
const (
	withStates = iota // every change carries its state
	inPlace           // no state, every 25th change lost
	lagging           // no state, changes queued for a while
)

// incrementalMatchesRebuild is TestIncrementalMatchesRebuild's run. In
// mode inPlace, changes come as an in-place assembler makes them (a delta
// without the state) and every 25th is dropped, so that the index rebuilds
// that host from the state its source has. In mode lagging, 20 steps in
// every 60 queue their changes instead of applying them, the first one of
// each host as a full snapshot without its state, as an index that lags
// behind its subscriber finds them: it rebuilds from the source's newer
// state, then takes the queued deltas as part of it; only once the queue
// is applied does the index have to match.
func incrementalMatchesRebuild(t *testing.T, mode int) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nhosts = 4
	states := make([]*snapshot.Snapshot, nhosts)
	x := NewFlowIndex(FlowConfig{})
	nextInode := uint64(1)
	randSocket := func(h int) snapshot.Socket {
		nextInode++
		ip := func() string { return fmt.Sprintf("10.0.0.%d", rng.IntN(4)) }
		netns := uint64(1 + rng.IntN(2))
		pid := 10 + rng.IntN(5)
		switch rng.IntN(4) {
		case 0:
			return tlisten("tcp", []string{"0.0.0.0", "::", ip()}[rng.IntN(3)], uint16(80+rng.IntN(3)), nextInode, netns, pid)
		case 1:
			return tconn("tcp", "127.0.0.1:"+fmt.Sprint(40000+rng.IntN(3)), "127.0.0.1:80", "client", nextInode, netns, pid)
		default:
			return tconn("tcp", ip()+":"+fmt.Sprint(40000+rng.IntN(3)), ip()+":"+fmt.Sprint(80+rng.IntN(3)),
				[]string{"client", "server"}[rng.IntN(2)], nextInode, netns, pid)
		}
	}
	for h := range nhosts {
		states[h] = thost(fmt.Sprintf("h%d", h), "", nil, nil, nil, nil)
		x.Apply(full(states[h], "e", 1))
	}
	seqs := make([]uint64, nhosts)
	for i := range seqs {
		seqs[i] = 1
	}
	x.view = func(host string, fn func(*snapshot.Snapshot, snapshot.HostInfo)) bool {
		var h int
		fmt.Sscanf(host, "h%d", &h)
		fn(states[h], snapshot.HostInfo{HostID: host, Epoch: "e", Seq: seqs[h], Synced: true})
		return true
	}
	lost := -1 // the host whose last change was lost
	var queued []snapshot.Change
	queuedHost := map[string]bool{}
	for step := range 300 {
		h := rng.IntN(nhosts)
		if lost >= 0 {
			h, lost = lost, -1 // its next change finds the index behind
		}
		next := states[h].Clone()
		for range 1 + rng.IntN(3) {
			switch op := rng.IntN(6); {
			case op <= 1 || len(next.Sockets) == 0:
				next.Sockets = append(next.Sockets, randSocket(h))
			case op == 2:
				i := rng.IntN(len(next.Sockets))
				next.Sockets = slices.Delete(next.Sockets, i, i+1)
			case op == 3:
				i := rng.IntN(len(next.Sockets))
				next.Sockets[i].PIDs = []int{10 + rng.IntN(5)}
			case op == 4:
				next.Addresses = []snapshot.NetNSAddrs{taddrs(uint64(1+rng.IntN(2)), fmt.Sprintf("10.0.0.%d", rng.IntN(4)))}
			default:
				pid := 10 + rng.IntN(5)
				next.Processes = slices.DeleteFunc(next.Processes, func(p snapshot.Process) bool { return p.PID == pid })
				next.Processes = append(next.Processes, tproc(pid, fmt.Sprintf("p%d-%d", pid, step), 1))
			}
		}
		next.Sort()
		seqs[h]++
		c := deltaChange(t, states[h], next, "e", seqs[h])
		states[h] = next
		switch {
		case mode == withStates:
			x.Apply(c)
		case mode == lagging && step%60 < 20:
			c.State, c.HasState = nil, true
			if !queuedHost[c.HostID] {
				queuedHost[c.HostID] = true
				c.Kind, c.Delta = snapshot.KindSnapshot, nil
			}
			queued = append(queued, c)
			continue
		case mode == lagging:
			for _, q := range queued {
				x.Apply(q)
			}
			queued, queuedHost = nil, map[string]bool{}
			c.State, c.HasState = nil, true
			x.Apply(c)
		case step%25 != 24:
			c.State, c.HasState = nil, true
			x.Apply(c)
		default:
			lost = h
			continue // the change is lost: the index learns it at the next
		}

		fresh := NewFlowIndex(FlowConfig{})
		for i, s := range states {
			fresh.Apply(full(s, "e", seqs[i]))
		}
		if err := x.conns.check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for id, fh := range fresh.hosts {
			xh := x.hosts[id]
			if xh == nil || len(xh.procs.byPID) != len(fh.procs.byPID) || procRefs(xh) != procRefs(fh) {
				t.Fatalf("step %d: host %s: incremental index has %d pids (%d refs), rebuilt %d (%d)", step, id,
					len(xh.procs.byPID), procRefs(xh), len(fh.procs.byPID), procRefs(fh))
			}
		}
		xs, fs := x.conns.ends, fresh.conns.ends
		if xs != fs || x.spec.len() != fresh.spec.len() || x.addrs.len() != fresh.addrs.len() || len(x.addrs.rest) != len(fresh.addrs.rest) {
			t.Fatalf("step %d: incremental index holds %d connected sockets, %d spec, %d/%d addrs; rebuilt %d, %d, %d/%d", step,
				xs, x.spec.len(), x.addrs.len(), len(x.addrs.rest), fs, fresh.spec.len(), fresh.addrs.len(), len(fresh.addrs.rest))
		}
		for _, s := range states {
			for _, so := range s.Sockets {
				if so.RemotePort == 0 {
					continue
				}
				f := tflow(ProtoTCP, netip.AddrPortFrom(netip.MustParseAddr(so.LocalIP), so.LocalPort).String(),
					netip.AddrPortFrom(netip.MustParseAddr(so.RemoteIP), so.RemotePort).String(), "")
				if got, want := x.Lookup(f), fresh.Lookup(f); got != want {
					t.Fatalf("step %d: Lookup(%v -> %v) = %+v, rebuilt index says %+v", step, f.Src, f.Dst, got, want)
				}
			}
		}
		if got, want := x.ServiceMap(), fresh.ServiceMap(); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: service map %+v, rebuilt index's %+v", step, got, want)
		}
	}
}

// procRefs is the sum of the references to h's process entries.
func procRefs(h *hostIndex) int {
	n := 0
	for _, i := range h.procs.byPID {
		n += int(h.procs.ents[i].refs)
	}
	return n
}

// TestFlowIndexHammer: lookups and service maps on many goroutines while
// deltas are applied (run with -race).
func TestFlowIndexHammer(t *testing.T) {
	x := fleetIndex(t, FlowConfig{})
	a1 := fleet()[0]
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			f := tflow(ProtoTCP, "10.0.0.1:40001", "10.0.0.2:5432", "")
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if got := x.Lookup(f); got.Server.HostID != "b" {
					errs <- fmt.Errorf("server %+v, want b's postgres", got.Server)
					return
				}
				x.ServiceMap()
			}
		}()
	}
	prev := a1
	for i := range 200 {
		next := prev.Clone()
		next.Sockets = append(next.Sockets, tconn("tcp", fmt.Sprintf("10.0.0.1:%d", 30000+i), "10.0.0.2:5432", "client", uint64(1000+i), 1, 100))
		next.Sort()
		x.Apply(deltaChange(t, prev, next, "e1", uint64(i+2)))
		prev = next
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestFlowIndexForgetsNetworks feeds one host states that each name a new
// network, as a forger may: the index keeps the names its hosts hold, not
// every name it has seen; two hosts sharing a name keep it while either
// does, and the shared name still finds both hosts' flows' network.
func TestFlowIndexForgetsNetworks(t *testing.T) {
	x := NewFlowIndex(FlowConfig{})
	var seq uint64
	state := func(host, network string) snapshot.Change {
		seq++
		return snapshot.Change{HostID: host, Kind: snapshot.KindSnapshot, Epoch: "e", Seq: seq, HasState: true,
			State: &snapshot.Snapshot{Host: snapshot.Host{HostID: host, Network: network}}}
	}
	x.Apply(state("a", "vpc-1"))
	x.Apply(state("b", "vpc-1"))
	for i := range 200 {
		x.Apply(state("forged", fmt.Sprintf("net-%d-%s", i, strings.Repeat("n", 1024))))
	}
	if got := len(x.networks); got != 3 { // "", vpc-1 and the forger's last
		t.Errorf("the index keeps %d network names after 200 changes of one host's, want 3", got)
	}
	x.Apply(state("a", "vpc-2"))
	if _, ok := x.networks["vpc-1"]; !ok {
		t.Error("vpc-1 was forgotten while host b still names it")
	}
	x.Apply(snapshot.Change{HostID: "b", Kind: snapshot.KindSnapshot, Epoch: "e", Seq: 1000}) // b's state is gone
	x.Apply(snapshot.Change{HostID: "forged", Kind: snapshot.KindSnapshot, Epoch: "e", Seq: 1000})
	if _, ok := x.networks["vpc-1"]; ok || len(x.networks) != 2 || len(x.netRefs) != 1 || len(x.netNames) != 1 {
		t.Errorf("after the hosts naming them went, the index keeps networks %d, refs %v", len(x.networks), x.netRefs)
	}
	if id := x.networks["vpc-2"]; x.hosts["a"].nid != id || id == 0 {
		t.Errorf("host a's network id %d, the name's %d", x.hosts["a"].nid, id)
	}
}
