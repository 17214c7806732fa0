package natssub

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
)

// Node is one end of a service map edge: a process, by its host and its
// name (the processes of one name on one host are one node, whatever their
// pids or containers), or, when no followed host has it, an address: the
// client's IP, or the server's IP:port.
type Node struct {
	HostID string `json:"host_id,omitempty"`
	Name   string `json:"name,omitempty"`
	Addr   string `json:"addr,omitempty"`
}

// String returns host/name, or the address.
func (n Node) String() string {
	if n.Addr != "" {
		return n.Addr
	}
	return n.HostID + "/" + n.Name
}

// Edge is the connections from one client node to one server node's port.
type Edge struct {
	Client Node `json:"client"`
	Server Node `json:"server"`
	// Proto is tcp or udp; Port the server's port.
	Proto string `json:"proto"`
	Port  uint16 `json:"port"`
	// Open counts the connections open in the hosts' current states,
	// Closed the short ones the index still keeps (FlowConfig).
	Open   int `json:"open"`
	Closed int `json:"closed"`
}

// Connections is Open + Closed.
func (e Edge) Connections() int { return e.Open + e.Closed }

// ServiceMap is which processes talk to which, across the hosts of a
// FlowIndex: one edge per client node, server node, protocol and server
// port, sorted by client, server, protocol and port.
type ServiceMap struct {
	Edges []Edge `json:"edges"`
}

type edgeKey struct {
	client, server Node
	proto          Proto
	port           uint16
}

// ServiceMap returns the current service map. Each connection counts
// once: from its client's socket or short connection, whose server end is
// looked up as Lookup does; from its server's when the client is on no
// followed host (the client node is then its IP). A connection whose two
// sockets both say client (an accepted connection that outlived its
// listener) is counted from the end with the higher port, the ephemeral
// one. It holds the index's read lock while it walks every host.
func (x *FlowIndex) ServiceMap() ServiceMap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	counts := map[edgeKey]*Edge{}
	add := func(k edgeKey, open, closed int) {
		e := counts[k]
		if e == nil {
			e = &Edge{Client: k.client, Server: k.server, Proto: k.proto.String(), Port: k.port}
			counts[k] = e
		}
		e.Open += open
		e.Closed += closed
	}
	for _, h := range x.hosts {
		for inode := range h.conns {
			e := x.connEntry(h, inode)
			t := e.tuple
			if e.server {
				if x.hasClient(h, e.ref.netns, t) {
					continue
				}
				add(edgeKey{client: addrNode(t.remote), server: procNode(e.ref.end(BySocket)), proto: t.proto, port: t.lport}, 1, 0)
				continue
			}
			if x.counterpartCounts(h, e) {
				continue
			}
			q := mapQuery(h, e.ref.netns, t)
			add(edgeKey{client: procNode(e.ref.end(BySocket)), server: serverNode(x.server(&q), t), proto: t.proto, port: t.rport}, 1, 0)
		}
		for i := range h.closed.recs {
			c := &h.closed.recs[i]
			t := c.key
			end := End{How: ByClosed, HostID: h.id, NetNSID: c.netns, PID: c.pid, StartTime: c.start, Name: c.name}
			if c.server {
				if x.hasClient(h, c.netns, t) {
					continue
				}
				add(edgeKey{client: addrNode(t.remote), server: procNode(end), proto: t.proto, port: t.lport}, 0, 1)
				continue
			}
			q := mapQuery(h, c.netns, t)
			add(edgeKey{client: procNode(end), server: serverNode(x.server(&q), t), proto: t.proto, port: t.rport}, 0, 1)
		}
	}
	m := ServiceMap{Edges: make([]Edge, 0, len(counts))}
	for _, e := range counts {
		m.Edges = append(m.Edges, *e)
	}
	slices.SortFunc(m.Edges, compareEdges)
	return m
}

// mapQuery is the query of the flow from a client socket t of h.
func mapQuery(h *hostIndex, netns uint64, t tupleKey) query {
	return query{proto: t.proto, src: t.local, dst: t.remote, sport: t.lport, dport: t.rport, nid: h.nid,
		srcAddr: netip.AddrFrom16(t.local).Unmap(), dstAddr: netip.AddrFrom16(t.remote).Unmap(),
		clientHost: h, clientNS: netns}
}

// hasClient reports whether the client of the server-side 4-tuple t of h
// (local = server) is a followed socket or short connection: on h's
// namespace netns for a loopback peer, in h's network otherwise.
func (x *FlowIndex) hasClient(h *hostIndex, netns uint64, t tupleKey) bool {
	k := tupleKey{local: t.remote, remote: t.local, lport: t.rport, rport: t.lport, proto: t.proto}
	var only *hostIndex
	if netip.AddrFrom16(t.remote).Unmap().IsLoopback() {
		only = h
	}
	if _, ok := x.pickSock(k, h.nid, only, netns); ok {
		return true
	}
	_, _, ok := x.closedEnd(k, h.nid, only, netns)
	return ok
}

// counterpartCounts reports whether the client-role socket e's peer is a
// client-role socket too that counts the connection instead: the one with
// the higher local port.
func (x *FlowIndex) counterpartCounts(h *hostIndex, e sockEntry) bool {
	t := e.tuple
	if t.lport > t.rport {
		return false
	}
	k := tupleKey{local: t.remote, remote: t.local, lport: t.rport, rport: t.lport, proto: t.proto}
	var only *hostIndex
	if netip.AddrFrom16(t.remote).Unmap().IsLoopback() {
		only = h
	}
	ref, ok := x.pickSock(k, h.nid, only, e.ref.netns)
	if !ok {
		return false
	}
	peer := x.connEntry(ref.h, ref.inode)
	return !peer.server && (t.lport < t.rport || string(t.local[:]) < string(t.remote[:]))
}

func procNode(e End) Node {
	name := e.Name
	if name == "" {
		name = "pid " + strconv.Itoa(e.PID)
	}
	return Node{HostID: e.HostID, Name: name}
}

func addrNode(ip [16]byte) Node {
	return Node{Addr: netip.AddrFrom16(ip).Unmap().String()}
}

// serverNode is the server end's process, or the destination IP:port of
// the client-side 4-tuple t.
func serverNode(e End, t tupleKey) Node {
	if e.How != Unresolved {
		return procNode(e)
	}
	return Node{Addr: netip.AddrPortFrom(netip.AddrFrom16(t.remote).Unmap(), t.rport).String()}
}

func compareNodes(a, b Node) int {
	return cmp.Or(cmp.Compare(a.HostID, b.HostID), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Addr, b.Addr))
}

func compareEdges(a, b Edge) int {
	return cmp.Or(compareNodes(a.Client, b.Client), compareNodes(a.Server, b.Server),
		cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port))
}
