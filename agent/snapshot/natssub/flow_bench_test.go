package natssub

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"

	"github.com/proctag/proctag/agent/snapshot"
)

// benchFleet is hosts hosts of one network, each with 20 processes, 10
// listeners on 0.0.0.0 and conns client connections to other hosts'
// listeners, whose accepted sockets are on those hosts: 2 × conns + 10
// sockets a host on average. It returns the states and the flows of the
// connections.
func benchFleet(hosts, conns int) ([]*snapshot.Snapshot, []Flow) {
	rng := rand.New(rand.NewPCG(7, 9))
	ip := func(h int) string { return fmt.Sprintf("10.%d.%d.%d", h>>16&255, h>>8&255, h&255) }
	states := make([]*snapshot.Snapshot, hosts)
	inode := make([]uint64, hosts)
	for h := range states {
		s := &snapshot.Snapshot{Host: snapshot.Host{HostID: fmt.Sprintf("host-%04d", h)},
			Addresses: []snapshot.NetNSAddrs{taddrs(1, ip(h))}}
		for p := range 20 {
			s.Processes = append(s.Processes, tproc(100+p, fmt.Sprintf("svc-%d", p), 1))
		}
		for l := range 10 {
			inode[h]++
			s.Sockets = append(s.Sockets, tlisten("tcp", "0.0.0.0", uint16(8000+l), inode[h], 1, 100+l))
		}
		states[h] = s
	}
	flows := make([]Flow, 0, hosts*conns)
	for h := range states {
		for c := range conns {
			dst := (h + 1 + rng.IntN(hosts-1)) % hosts
			port := uint16(8000 + rng.IntN(10))
			src := netip.AddrPortFrom(netip.MustParseAddr(ip(h)), uint16(20000+c))
			dstAP := netip.AddrPortFrom(netip.MustParseAddr(ip(dst)), port)
			inode[h]++
			states[h].Sockets = append(states[h].Sockets, tconn("tcp", src.String(), dstAP.String(), "client", inode[h], 1, 110+c%10))
			inode[dst]++
			states[dst].Sockets = append(states[dst].Sockets, tconn("tcp", dstAP.String(), src.String(), "server", inode[dst], 1, int(port)-8000+100))
			flows = append(flows, Flow{Proto: ProtoTCP, Src: src, Dst: dstAP})
		}
	}
	for _, s := range states {
		s.Sort()
	}
	rng.Shuffle(len(flows), func(i, j int) { flows[i], flows[j] = flows[j], flows[i] })
	return states, flows
}

var benchSink FlowEnds

// BenchmarkFlowLookup: one lookup among 1,000 hosts of ~3,000 sockets
// each (3 million sockets), both ends resolved by their sockets; and a
// flow whose server end is found by the listener of the host owning the
// destination address.
func BenchmarkFlowLookup(b *testing.B) {
	states, flows := benchFleet(1000, 1500)
	x := NewFlowIndex(FlowConfig{})
	for _, s := range states {
		x.Apply(full(s, "e", 1))
	}
	b.Run("socket", func(b *testing.B) {
		benchLookup(b, x, flows, BySocket)
	})
	b.Run("listener", func(b *testing.B) {
		lf := make([]Flow, 1024)
		for i := range lf {
			f := flows[i]
			lf[i] = Flow{Proto: ProtoTCP, Src: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(i)), Dst: f.Dst}
		}
		benchLookup(b, x, lf, ByListener)
	})
}

// benchLookup looks flows up in x in turn, and checks that the last one's
// server end was found the way want says.
func benchLookup(b *testing.B, x *FlowIndex, flows []Flow, want Resolution) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = x.Lookup(flows[i%len(flows)])
		i++
	}
	if benchSink.Server.How != want {
		b.Fatalf("last lookup %+v", benchSink)
	}
}

// BenchmarkApplyDelta: one host's delta that replaces 1 % of its ~3,000
// sockets (30 closed, 30 new), applied to the index of 1,000 hosts; and,
// for comparison, the rebuild of that host from its full state.
func BenchmarkApplyDelta(b *testing.B) {
	states, _ := benchFleet(1000, 1500)
	x := NewFlowIndex(FlowConfig{})
	for _, s := range states {
		x.Apply(full(s, "e", 1))
	}
	s0 := states[0]
	s1 := s0.Clone()
	n := len(s1.Sockets) / 100
	for i := range n {
		so := &s1.Sockets[len(s1.Sockets)-1-i]
		so.Inode += 1 << 32
		so.LocalPort++
	}
	s1.Sort()
	d01, d10 := snapshot.Diff(s0, s1), snapshot.Diff(s1, s0)
	if len(d01.SocketsAdded) != n || len(d01.SocketsRemoved) != n {
		b.Fatalf("delta adds %d and removes %d sockets, want %d", len(d01.SocketsAdded), len(d01.SocketsRemoved), n)
	}
	b.Run("delta", func(b *testing.B) {
		b.ReportAllocs()
		seq := uint64(1)
		for b.Loop() {
			seq++
			c := snapshot.Change{HostID: s0.Host.HostID, Kind: snapshot.KindDelta, Epoch: "e", Seq: seq, State: s1, Delta: d01}
			if seq%2 == 1 {
				c.State, c.Delta = s0, d10
			}
			x.Apply(c)
		}
	})
	b.Run("rebuild", func(b *testing.B) {
		b.ReportAllocs()
		seq := uint64(1 << 40)
		for b.Loop() {
			seq += 2 // never the next seq: a rebuild each time
			st := s0
			if seq%4 == 0 {
				st = s1
			}
			x.Apply(snapshot.Change{HostID: s0.Host.HostID, Kind: snapshot.KindSnapshot, Epoch: "e", Seq: seq, State: st})
		}
	})
}

// BenchmarkFlowIndexMemory: what a FlowIndex of 1,000 hosts × ~3,000
// sockets holds, per socket: on the Go heap (after a collection) and in
// its table of connections, which is outside the heap when it is large.
func BenchmarkFlowIndexMemory(b *testing.B) {
	states, _ := benchFleet(1000, 1500)
	n := 0
	for _, s := range states {
		n += len(s.Sockets)
	}
	var x *FlowIndex
	var heap uint64
	for b.Loop() {
		x = nil
		before := heapLive()
		x = NewFlowIndex(FlowConfig{})
		for _, s := range states {
			x.Apply(full(s, "e", 1))
		}
		heap = heapLive() - before
	}
	table := uintptr(len(x.conns.recs)) * unsafe.Sizeof(connRec{})
	b.ReportMetric(float64(heap)/float64(n), "heap-B/socket")
	b.ReportMetric(float64(table)/float64(n), "table-B/socket")
	runtime.KeepAlive(x)
}

// heapLive is the Go heap in use after a full collection.
func heapLive() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkFlowIndexBuild: indexing 1,000 hosts of ~3,000 sockets from
// their full states into an empty index, as a subscriber that joins a
// fleet does; ns/socket is per socket indexed.
func BenchmarkFlowIndexBuild(b *testing.B) {
	states, _ := benchFleet(1000, 1500)
	n := 0
	for _, s := range states {
		n += len(s.Sockets)
	}
	for _, hint := range []int{0, n} {
		b.Run(fmt.Sprintf("sockets=%d", hint), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x := NewFlowIndex(FlowConfig{Sockets: hint})
				for _, s := range states {
					x.Apply(full(s, "e", 1))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
		})
	}
}
