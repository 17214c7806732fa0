package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// flowAnswer is the flow index's lookup benchmark over the states the
// subscriber holds.
type flowAnswer struct {
	// Flows is how many flows were looked up in turn, one per client
	// socket to another host (at most maxFlows); Resolved how many of them
	// found both ends by their sockets, on the right hosts.
	Flows, Resolved int
	// NsPerOp and AllocsPerOp are testing.Benchmark's figures for one
	// Lookup; Hosts and Sockets the size of the index looked up.
	NsPerOp     int64
	AllocsPerOp int64
	Hosts       int
	Sockets     int
	// Unresolved describes the first flow not resolved as expected.
	Unresolved string `json:",omitempty"`
	Error      string `json:",omitempty"`
}

// maxFlows bounds the flows the benchmark cycles through.
const maxFlows = 200_000

// flowSink keeps the compiler from dropping the lookups.
var flowSink natssub.FlowEnds

// flowBench looks up the connections between the hosts in the flow index
// that follows the subscriber, as a flow collector would: every client
// socket of every host, as a Flow from its local to its remote address.
func (c *subscriberChild) flowBench() flowAnswer {
	type want struct{ client, server string }
	var flows []natssub.Flow
	var wants []want
	var a flowAnswer
	owner := map[netip.Addr]string{}
	for _, h := range c.sub.Hosts() {
		st, ok := c.sub.State(h)
		if !ok {
			continue
		}
		a.Hosts++
		a.Sockets += len(st.Sockets)
		for _, na := range st.Addresses {
			for _, ad := range na.Addrs {
				if ip, err := netip.ParseAddr(ad.IP); err == nil && !ip.IsLoopback() {
					owner[ip] = h
				}
			}
		}
	}
	for _, h := range c.sub.Hosts() {
		st, ok := c.sub.State(h)
		if !ok {
			continue
		}
		for _, s := range st.Sockets {
			if s.Role != "client" || s.State != "ESTABLISHED" || s.Proto != "tcp" {
				continue
			}
			src, err1 := netip.ParseAddr(s.LocalIP)
			dst, err2 := netip.ParseAddr(s.RemoteIP)
			if err1 != nil || err2 != nil || dst.IsLoopback() {
				continue
			}
			flows = append(flows, natssub.Flow{Proto: natssub.ProtoTCP, Network: c.network,
				Src: netip.AddrPortFrom(src, s.LocalPort), Dst: netip.AddrPortFrom(dst, s.RemotePort)})
			wants = append(wants, want{client: h, server: owner[dst]})
		}
	}
	if len(flows) == 0 {
		a.Error = "no connection between the hosts to look up"
		return a
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(flows), func(i, j int) {
		flows[i], flows[j] = flows[j], flows[i]
		wants[i], wants[j] = wants[j], wants[i]
	})
	flows, wants = flows[:min(len(flows), maxFlows)], wants[:min(len(wants), maxFlows)]
	a.Flows = len(flows)
	for i, f := range flows {
		e := c.flows.Lookup(f)
		if e.Client.How == natssub.BySocket && e.Server.How == natssub.BySocket &&
			e.Client.HostID == wants[i].client && e.Server.HostID == wants[i].server {
			a.Resolved++
		} else if a.Unresolved == "" {
			inState := false
			if st, ok := c.sub.State(wants[i].server); ok {
				_, inState = snapshot.FindSocket(st.Sockets, netnsID, "tcp", f.Dst, f.Src)
			}
			a.Unresolved = fmt.Sprintf("%v %v -> %v (client on %s, server on %s; server socket in the subscriber's state: %v): %+v",
				f.Proto, f.Src, f.Dst, wants[i].client, wants[i].server, inState, e)
		}
	}
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			flowSink = c.flows.Lookup(flows[i%len(flows)])
			i++
		}
	})
	a.NsPerOp, a.AllocsPerOp = r.NsPerOp(), r.AllocsPerOp()
	return a
}
