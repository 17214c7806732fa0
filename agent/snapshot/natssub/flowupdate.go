package natssub

import (
	"context"
	"math"
	"net/netip"

	"github.com/proctag/proctag/agent/snapshot"
)

// hostIndex is what a FlowIndex holds of one host: enough to take every
// entry it put in the shared maps out again, and what lookups read per
// host (process names, listeners, short connections).
type hostIndex struct {
	id      string
	network string
	nid     uint32
	slot    int32 // in FlowIndex.slots; connEnd.host is slot+1

	// indexed says that epoch and seq are the state indexed; a change
	// whose seq does not follow seq, or of another epoch, rebuilds the
	// host.
	indexed bool
	epoch   string
	seq     uint64

	procs     procTable
	conns     map[uint64]uint32    // place in FlowIndex.conns, by inode
	extra     map[uint64]tupleKey  // tuples of the sockets at overflowPlace
	listens   map[uint64]sockEntry // listeners, by inode
	listeners multimap[listenKey, sockRef]
	addrs     []addrEntry // the addresses put in FlowIndex.addrs
	closed    closedRing
}

// sockEntry is an indexed socket as its record says (FlowIndex.entry).
type sockEntry struct {
	tuple  tupleKey // a listener's has the local address only
	ref    sockRef
	listen bool
	server bool // Role server
}

type addrEntry struct {
	key addrKey
	ns  nsRef
}

// Apply brings the index up to date with one change of a Subscriber (or of
// a snapshot.Assembler). A change of a host with no state drops the host.
// A change carrying the delta to the next seq of the state indexed is
// applied entry by entry; a change of the state indexed (a heartbeat, a
// resync request) changes nothing; any other (a full snapshot, a resync, a
// seq that skipped because a change was dropped, a new epoch, a new
// Host.Network) rebuilds that host from Change.State or, when the change
// carries none (snapshot.AssemblerConfig.InPlace), from the state the
// FlowIndex's source has now (Follow's Subscriber); without either, the
// host is dropped until its next full state. The Closed list of a state or
// delta is added to the host's short connections, once per state. A delta
// of the followed epoch that the state indexed already has (read from the
// source while the delta's change was queued) adds only its Closed list.
func (x *FlowIndex) Apply(c snapshot.Change) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h := x.hosts[c.HostID]
	if !c.HasState && c.State == nil {
		if h != nil {
			x.dropHost(h)
		}
		return
	}
	if h == nil {
		h = x.newHost(c.HostID)
	}
	var closed []snapshot.Connection
	switch {
	case h.indexed && c.Delta == nil && c.Epoch == h.epoch && c.Seq == h.seq:
		return // a heartbeat, or a resync request: the same state
	case h.indexed && c.Delta != nil && c.Epoch == h.epoch && c.Seq <= h.seq:
		// The state indexed has this delta already: it was read after
		// the delta was applied (a rebuild from view while changes were
		// queued). Its short connections are new to the index.
		x.addClosed(h, c.Delta.Closed)
		return
	case h.indexed && c.Delta != nil && c.Epoch == h.epoch && c.Seq == h.seq+1 &&
		c.Delta.Host.Network == h.network:
		x.applyDelta(h, c.Delta)
		closed = c.Delta.Closed
	case c.State != nil:
		x.rebuild(h, c.State)
		closed = c.State.Closed
	default:
		// Indexed under the source's lock, from its own state: a copy of
		// the lists would cost more than the index itself, and the lock
		// holds the source's next change only as long as this host takes.
		ok := x.view != nil && x.view(c.HostID, func(s *snapshot.Snapshot, info snapshot.HostInfo) {
			x.rebuild(h, s)
			h.indexed, h.epoch, h.seq = true, info.Epoch, info.Seq
			if info.Epoch == c.Epoch && info.Seq == c.Seq {
				x.addClosed(h, s.Closed) // the change's own state
			}
		})
		if !ok {
			x.dropHost(h)
		}
		return
	}
	h.indexed, h.epoch, h.seq = true, c.Epoch, c.Seq
	x.addClosed(h, closed)
}

// Follow applies every change of sub (see Apply) until sub's Changes
// channel closes (sub.Run returned) or ctx is done, and hands each change
// on to fn when fn is not nil. It takes Changes for itself: a caller that
// wants the changes too reads them in fn, which runs on Follow's goroutine
// after the index has the change, and must not block long. A change the
// subscriber dropped (Subscriber.Dropped) costs a rebuild of its host at
// the host's next change. Run Follow on its own goroutine beside sub.Run.
func (x *FlowIndex) Follow(ctx context.Context, sub *Subscriber, fn func(snapshot.Change)) {
	x.mu.Lock()
	x.view = sub.View
	x.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-sub.Changes():
			if !ok {
				return
			}
			x.Apply(c)
			if fn != nil {
				fn(c)
			}
		}
	}
}

// newHost adds an empty host, in a free slot.
func (x *FlowIndex) newHost(id string) *hostIndex {
	h := &hostIndex{id: id}
	if n := len(x.free); n > 0 {
		h.slot, x.free = x.free[n-1], x.free[:n-1]
		x.slots[h.slot] = h
	} else {
		h.slot = int32(len(x.slots))
		x.slots = append(x.slots, h)
	}
	x.hosts[id] = h
	return h
}

// Hosts returns the number of hosts the index holds.
func (x *FlowIndex) Hosts() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.hosts)
}

// networkID returns the id of a network name for one more host, made on
// first use; releaseNetwork gives it back. A name no host holds is
// forgotten, so that hosts naming ever new networks (a forger's) cannot
// grow the index; "" is 0 and always kept.
func (x *FlowIndex) networkID(name string) uint32 {
	if name == "" {
		return 0
	}
	id, ok := x.networks[name]
	if !ok {
		x.lastNet++
		id = x.lastNet
		x.networks[name] = id
		x.netNames[id] = name
	}
	x.netRefs[id]++
	return id
}

// releaseNetwork gives back a host's hold on network id.
func (x *FlowIndex) releaseNetwork(id uint32) {
	if id == 0 {
		return
	}
	if x.netRefs[id]--; x.netRefs[id] <= 0 {
		delete(x.networks, x.netNames[id])
		delete(x.netNames, id)
		delete(x.netRefs, id)
	}
}

// rebuild replaces everything indexed of h by state s, keeping its short
// connections.
func (x *FlowIndex) rebuild(h *hostIndex, s *snapshot.Snapshot) {
	x.unindex(h)
	old := h.nid
	h.network, h.nid = s.Host.Network, x.networkID(s.Host.Network)
	x.releaseNetwork(old)
	h.procs.reset(len(s.Processes))
	h.conns = make(map[uint64]uint32, len(s.Sockets))
	h.extra = map[uint64]tupleKey{}
	h.listens = map[uint64]sockEntry{}
	h.listeners = newMultimap[listenKey, sockRef]()
	for i := range s.Processes {
		h.procs.set(&s.Processes[i])
	}
	for i := range s.Sockets {
		x.addSock(h, &s.Sockets[i])
	}
	x.setAddrs(h, s.Addresses)
}

// unindex takes h's sockets and addresses out of the shared maps.
func (x *FlowIndex) unindex(h *hostIndex) {
	for inode := range h.conns {
		x.removeConn(h, inode)
	}
	for _, e := range h.listens {
		x.unindexListener(h, e)
	}
	for _, a := range h.addrs {
		x.addrs.remove(a.key, a.ns)
	}
	h.addrs = h.addrs[:0]
}

// dropHost forgets h entirely.
func (x *FlowIndex) dropHost(h *hostIndex) {
	x.unindex(h)
	x.releaseNetwork(h.nid)
	x.evictClosed(h, len(h.closed.recs))
	delete(x.hosts, h.id)
	x.slots[h.slot] = nil
	x.free = append(x.free, h.slot)
}

// applyDelta applies d entry by entry: removed processes go before added
// ones (a reused pid), every socket named is taken out before it is put
// back.
func (x *FlowIndex) applyDelta(h *hostIndex, d *snapshot.Delta) {
	for _, k := range d.Removed {
		h.procs.remove(k)
	}
	for i := range d.Added {
		h.procs.set(&d.Added[i])
	}
	for i := range d.Changed {
		h.procs.set(&d.Changed[i])
	}
	for _, ino := range d.SocketsRemoved {
		x.removeSock(h, ino)
	}
	for i := range d.SocketsChanged {
		x.addSock(h, &d.SocketsChanged[i])
	}
	for i := range d.SocketsAdded {
		x.addSock(h, &d.SocketsAdded[i])
	}
	if d.Addresses != nil {
		x.setAddrs(h, d.Addresses)
	}
}

// addSock indexes s, replacing what was indexed under its inode. Sockets
// with a peer are connections; TCP in LISTEN and UDP bound without a peer
// are listeners; others (unparsable, a TCP socket bound but not listening,
// an owner pid no kernel gives) are left out.
func (x *FlowIndex) addSock(h *hostIndex, s *snapshot.Socket) {
	x.removeSock(h, s.Inode)
	proto, ok := ParseProto(s.Proto)
	if !ok {
		return
	}
	la, err := netip.ParseAddr(s.LocalIP)
	if err != nil {
		return
	}
	la = la.Unmap()
	e := sockEntry{ref: sockRef{h: h, netns: s.NetNSID, inode: s.Inode}, server: s.Role == "server"}
	if len(s.PIDs) > 0 {
		if s.PIDs[0] < 0 || s.PIDs[0] > math.MaxInt32 {
			return
		}
		e.ref.pid = s.PIDs[0]
	}
	switch {
	case s.RemotePort != 0 && s.State != "LISTEN":
		ra, err := netip.ParseAddr(s.RemoteIP)
		if err != nil {
			return
		}
		t := tupleKey{local: la.As16(), remote: ra.Unmap().As16(), lport: s.LocalPort, rport: s.RemotePort, proto: proto}
		e.ref.proc = h.procs.ref(e.ref.pid)
		p := x.conns.add(t, connEnd{netns: s.NetNSID, inode: s.Inode, host: h.slot + 1, pid: int32(e.ref.pid), proc: e.ref.proc, server: e.server})
		h.conns[s.Inode] = p
		if p == overflowPlace {
			h.extra[s.Inode] = t
		}
	case (proto == ProtoTCP && s.State == "LISTEN") || (proto == ProtoUDP && s.RemotePort == 0 && s.LocalPort != 0):
		e.listen = true
		e.ref.proc = h.procs.ref(e.ref.pid)
		e.tuple = tupleKey{local: la.As16(), lport: s.LocalPort, proto: proto}
		h.listeners.add(listenKey{netns: s.NetNSID, ip: e.tuple.local, port: s.LocalPort, proto: proto}, e.ref)
		if !la.IsUnspecified() && !la.IsLoopback() {
			x.spec.add(specKey{ip: e.tuple.local, nid: h.nid, port: s.LocalPort, proto: proto}, e.ref)
		}
		h.listens[s.Inode] = e
	}
}

// connEntry returns h's connected socket inode as a sockEntry.
func (x *FlowIndex) connEntry(h *hostIndex, inode uint64) sockEntry {
	p := h.conns[inode]
	if p == overflowPlace {
		t := h.extra[inode]
		_, rest, _ := x.conns.get(t) // an overflow socket is never the first
		for i := range rest {
			if c := &rest[i]; c.host == h.slot+1 && c.inode == inode {
				return sockEntry{tuple: t, ref: c.ref(h), server: c.server}
			}
		}
	}
	c, t := x.conns.at(p)
	return sockEntry{tuple: t, ref: c.ref(h), server: c.server}
}

// ref is the sockRef of c, a socket of h.
func (c *connEnd) ref(h *hostIndex) sockRef {
	return sockRef{h: h, netns: c.netns, inode: c.inode, pid: int(c.pid), proc: c.proc}
}

// connMoved records a socket's new place in the connStore.
func (x *FlowIndex) connMoved(c *connEnd, place uint32) {
	h := x.slots[c.host-1]
	h.conns[c.inode] = place
	if place != overflowPlace {
		delete(h.extra, c.inode)
	}
}

func (x *FlowIndex) removeSock(h *hostIndex, inode uint64) {
	if _, ok := h.conns[inode]; ok {
		x.removeConn(h, inode)
		delete(h.conns, inode)
	} else if e, ok := h.listens[inode]; ok {
		x.unindexListener(h, e)
		delete(h.listens, inode)
	}
}

// removeConn takes h's connected socket inode out of the connStore.
func (x *FlowIndex) removeConn(h *hostIndex, inode uint64) {
	p := h.conns[inode]
	var t tupleKey
	if p == overflowPlace {
		t = h.extra[inode]
		delete(h.extra, inode)
	} else {
		_, t = x.conns.at(p)
	}
	if c, ok := x.conns.remove(t, h.slot+1, inode, p); ok {
		h.procs.unref(c.proc)
	}
}

func (x *FlowIndex) unindexListener(h *hostIndex, e sockEntry) {
	t := e.tuple
	h.listeners.remove(listenKey{netns: e.ref.netns, ip: t.local, port: t.lport, proto: t.proto}, e.ref)
	x.spec.remove(specKey{ip: t.local, nid: h.nid, port: t.lport, proto: t.proto}, e.ref)
	h.procs.unref(e.ref.proc)
}

// setAddrs replaces h's addresses. Loopback and unspecified addresses are
// left out: they say nothing about which host an address is.
func (x *FlowIndex) setAddrs(h *hostIndex, list []snapshot.NetNSAddrs) {
	for _, a := range h.addrs {
		x.addrs.remove(a.key, a.ns)
	}
	h.addrs = h.addrs[:0]
	for _, ns := range list {
		for _, a := range ns.Addrs {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsUnspecified() {
				continue
			}
			e := addrEntry{key: addrKey{ip: ip.As16(), nid: h.nid}, ns: nsRef{h: h, netns: ns.NetNSID}}
			x.addrs.add(e.key, e.ns)
			h.addrs = append(h.addrs, e)
		}
	}
}

// listenerAt returns the listener of h's namespace netns that serves
// ip:port: one bound to ip itself, else one bound to the wildcard address
// (0.0.0.0 for an IPv4 ip, then ::, which serves both on a dual-stack
// socket).
func (h *hostIndex) listenerAt(proto Proto, netns uint64, ip [16]byte, port uint16, v4 bool) (sockRef, bool) {
	k := listenKey{netns: netns, ip: ip, port: port, proto: proto}
	if ref, ok := h.pickListener(k); ok {
		return ref, true
	}
	if v4 {
		k.ip = wild4
		if ref, ok := h.pickListener(k); ok {
			return ref, true
		}
	}
	k.ip = wild6
	return h.pickListener(k)
}

func (h *hostIndex) pickListener(k listenKey) (sockRef, bool) {
	first, rest, ok := h.listeners.get(k)
	if !ok {
		return sockRef{}, false
	}
	return lowest(first, rest), true
}
