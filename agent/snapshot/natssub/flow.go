package natssub

import (
	"net/netip"
	"runtime"
	"sync"

	"github.com/proctag/proctag/agent/snapshot"
)

// Proto is a flow's transport protocol. The socket's address family is not
// part of it: it is the addresses' own.
type Proto uint8

// The protocols a flow can have. The zero Proto matches nothing.
const (
	ProtoTCP Proto = iota + 1
	ProtoUDP
)

// String returns tcp or udp ("" for the zero Proto).
func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return ""
}

// ParseProto returns the Proto of a socket's or a connection's proto field
// (tcp, tcp6, udp, udp6) and whether it is one of them.
func ParseProto(s string) (Proto, bool) {
	switch s {
	case "tcp", "tcp6":
		return ProtoTCP, true
	case "udp", "udp6":
		return ProtoUDP, true
	}
	return 0, false
}

// Flow is one connection as the network sees it, oriented from the client
// (the end that connected, or sent the first datagram) to the server.
// IPv4-mapped IPv6 addresses are taken as the IPv4 addresses they carry,
// as the agents write them.
type Flow struct {
	Proto Proto
	Src   netip.AddrPort
	Dst   netip.AddrPort
	// Network is the address domain of the addresses (a host's `network`,
	// e.g. a VPC's name): only hosts whose Host.Network equals it take
	// part, and "" takes the hosts that have none.
	Network string
}

// Resolution says how an end of a flow was found.
type Resolution uint8

// The ways an end is found, from the most to the least direct.
const (
	// Unresolved: no followed host has the end.
	Unresolved Resolution = iota
	// BySocket: a socket of the end's process has the flow's 4-tuple
	// (connected, in any state but LISTEN).
	BySocket
	// ByClosed: a short connection of the end's process had the flow's
	// 4-tuple and closed (Snapshot.Closed) within the index's retention.
	ByClosed
	// ByListener: the server's process listens on the destination port, on
	// the destination address or on the wildcard address of the network
	// namespace that owns the destination address (for UDP, is bound
	// there without a peer).
	ByListener
)

// String returns unresolved, socket, closed or listener.
func (r Resolution) String() string {
	switch r {
	case BySocket:
		return "socket"
	case ByClosed:
		return "closed"
	case ByListener:
		return "listener"
	}
	return "unresolved"
}

// End is the process at one end of a flow. Its strings are shared with the
// index's snapshots (no copy is made); a zero End is unresolved.
type End struct {
	How Resolution
	// HostID is the host the process runs on, NetNSID the network
	// namespace the socket is in.
	HostID  string
	NetNSID uint64
	// PID and StartTime are the process's identity (snapshot.Key); for a
	// socket held by several processes (after fork), the lowest pid.
	PID       int
	StartTime int64
	// Name is the process's name after rules and plugins; "" when the
	// socket's owner is not among the host's processes.
	Name string
}

// FlowEnds are a flow's two ends.
type FlowEnds struct {
	Client End
	Server End
}

// FlowConfig sets how long a FlowIndex keeps short connections. The zero
// value keeps those of each host's last 6 state messages, at most 4096 per
// host.
type FlowConfig struct {
	// ClosedTicks is how many of a host's state messages (full snapshots
	// and deltas; not heartbeats) the short connections each one carried
	// are kept for; default 6 (a minute at the default 10 s interval).
	ClosedTicks int
	// ClosedMax caps the short connections kept per host, the oldest
	// going first; default 4096.
	ClosedMax int
	// Sockets is how many connected sockets the index is expected to hold
	// across hosts: its table of connections is made for that many at
	// once instead of growing (and moving every entry) step by step while
	// a subscriber joins a fleet. 0 starts small. The table still grows
	// past it.
	Sockets int
}

// FlowIndex answers which process is at each end of a flow, across every
// host it is fed (see Apply and Follow). It indexes:
//
//   - connected sockets by their exact 4-tuple (local, remote): the client
//     end of a flow is the socket with local = Src and remote = Dst, the
//     server end the one with local = Dst and remote = Src;
//   - listeners (TCP LISTEN, UDP bound without a peer) by network
//     namespace, address and port: a listener on a specific address serves
//     only that address, one on 0.0.0.0 every IPv4 address of its
//     namespace, one on :: every address (dual stack);
//   - interface addresses (Snapshot.Addresses) by network and address, to
//     find the host and namespace owning a destination (loopback addresses
//     are left out: every host has them); a listener on a specific
//     non-loopback address names its host and namespace by itself, also
//     for hosts that publish no addresses;
//   - short connections (Snapshot.Closed) by 4-tuple, per host in a ring
//     bounded by FlowConfig.
//
// A loopback destination (127.0.0.0/8, ::1) is only ever served by the
// client's host and network namespace: its server end is looked for there
// (a socket with the 4-tuple on another host is only taken when the client
// end is not found). When an address is on several hosts of one network (a
// bridge address every container host has, like 172.17.0.1), the client's
// host and namespace are preferred, then the lowest host id.
//
// Updates are incremental: a delta changes only the entries of the
// sockets, processes and addresses it names; a full snapshot, a resync, a
// change of the host's network or a missed change (a seq that does not
// follow) rebuilds that one host. Lookup does not allocate. A FlowIndex is
// safe for concurrent use: lookups share a read lock, updates take the
// write lock.
type FlowIndex struct {
	cfg FlowConfig

	mu       sync.RWMutex
	hosts    map[string]*hostIndex
	networks map[string]uint32 // network name -> id; "" is 0
	// netNames and netRefs are each network id's name and the hosts
	// holding it; lastNet is the last id given (see networkID).
	netNames map[uint32]string
	netRefs  map[uint32]int
	lastNet  uint32
	conns    connStore
	slots    []*hostIndex               // by hostIndex.slot; nil when free
	free     []int32                    // free slots
	spec     multimap[specKey, sockRef] // listeners on a specific non-loopback address
	addrs    multimap[addrKey, nsRef]
	closed   map[tupleKey]closedRef
	// view calls fn with a host's state and its info as of one moment, for
	// a change that needs a rebuild but carries no state (Follow sets it to
	// Subscriber.View), and reports whether the host has a state.
	view func(host string, fn func(*snapshot.Snapshot, snapshot.HostInfo)) bool
}

// NewFlowIndex returns an empty index.
func NewFlowIndex(cfg FlowConfig) *FlowIndex {
	if cfg.ClosedTicks <= 0 {
		cfg.ClosedTicks = 6
	}
	if cfg.ClosedMax <= 0 {
		cfg.ClosedMax = 4096
	}
	x := &FlowIndex{
		cfg: cfg, hosts: map[string]*hostIndex{}, networks: map[string]uint32{"": 0},
		netNames: map[uint32]string{}, netRefs: map[uint32]int{},
		spec:  newMultimap[specKey, sockRef](),
		addrs: newMultimap[addrKey, nsRef](), closed: map[tupleKey]closedRef{},
	}
	x.conns = newConnStore(x.connMoved, cfg.Sockets)
	runtime.AddCleanup(x, (*recMem).release, x.conns.mem)
	return x
}

// tupleKey is a connection's 4-tuple from one end's side; addresses are
// As16 of the unmapped address.
type tupleKey struct {
	local, remote [16]byte
	lport, rport  uint16
	proto         Proto
}

// listenKey is a listener within one host.
type listenKey struct {
	netns uint64
	ip    [16]byte
	port  uint16
	proto Proto
}

// specKey is a listener on a specific address within a network.
type specKey struct {
	ip    [16]byte
	nid   uint32
	port  uint16
	proto Proto
}

// addrKey is an interface address within a network.
type addrKey struct {
	ip  [16]byte
	nid uint32
}

// sockRef is an indexed socket: its host, namespace, inode and owner.
type sockRef struct {
	h     *hostIndex
	netns uint64
	inode uint64
	pid   int
	proc  int32 // the pid's entry in h.procs
}

// nsRef is a network namespace of a host.
type nsRef struct {
	h     *hostIndex
	netns uint64
}

// closedRef points at a short connection in its host's ring.
type closedRef struct {
	h   *hostIndex
	seq uint64
}

var (
	wild4 = netip.IPv4Unspecified().As16()
	wild6 = netip.IPv6Unspecified().As16()
)

// query is a flow prepared for the indexes.
type query struct {
	proto      Proto
	src, dst   [16]byte
	sport      uint16
	dport      uint16
	dstAddr    netip.Addr
	srcAddr    netip.Addr
	nid        uint32
	clientHost *hostIndex // set once the client end is found
	clientNS   uint64
	// rec is the record of the flow's 4-tuple (nil when none), key its
	// canonical tuple and side the client's side in it, once recLooked:
	// the server end's socket is on the other side of the same record.
	recLooked bool
	rec       *connRec
	key       connKey
	side      int
}

// Lookup returns the process at each end of f. It does not allocate.
func (x *FlowIndex) Lookup(f Flow) FlowEnds {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var q query
	if !x.prepare(f, &q) {
		return FlowEnds{}
	}
	var r FlowEnds
	r.Client = x.client(&q)
	r.Server = x.server(&q)
	return r
}

func (x *FlowIndex) prepare(f Flow, q *query) bool {
	nid, ok := x.networks[f.Network]
	if !ok || (f.Proto != ProtoTCP && f.Proto != ProtoUDP) || !f.Src.Addr().IsValid() || !f.Dst.Addr().IsValid() {
		return false
	}
	*q = query{proto: f.Proto, sport: f.Src.Port(), dport: f.Dst.Port(), nid: nid,
		srcAddr: f.Src.Addr().Unmap(), dstAddr: f.Dst.Addr().Unmap()}
	q.src, q.dst = q.srcAddr.As16(), q.dstAddr.As16()
	return true
}

// client finds the client end: the socket or short connection with
// local = Src, remote = Dst; for UDP, else the socket bound to Src.
func (x *FlowIndex) client(q *query) End {
	k := tupleKey{local: q.src, remote: q.dst, lport: q.sport, rport: q.dport, proto: q.proto}
	q.rec, q.key, q.side, q.recLooked = nil, connKey{}, 0, true
	if r, ck, side, ok := x.conns.record(k); ok {
		q.rec, q.key, q.side = r, ck, side
	}
	if ref, ok := x.pickRec(q, q.side, q.nid, nil, 0); ok {
		q.clientHost, q.clientNS = ref.h, ref.netns
		return ref.end(BySocket)
	}
	if e, h, ok := x.closedEnd(k, q.nid, nil, 0); ok {
		q.clientHost, q.clientNS = h, e.NetNSID
		return e
	}
	if q.proto == ProtoUDP && !q.srcAddr.IsLoopback() {
		if ref, ok := x.listener(q.srcAddr, q.src, q.sport, q); ok {
			q.clientHost, q.clientNS = ref.h, ref.netns
			return ref.end(ByListener)
		}
	}
	return End{}
}

// server finds the server end once client has run: the socket or short
// connection with local = Dst, remote = Src, else the listener.
func (x *FlowIndex) server(q *query) End {
	k := tupleKey{local: q.dst, remote: q.src, lport: q.dport, rport: q.sport, proto: q.proto}
	loop := q.dstAddr.IsLoopback()
	var onlyHost *hostIndex
	var onlyNS uint64
	if loop && q.clientHost != nil {
		onlyHost, onlyNS = q.clientHost, q.clientNS
	}
	var ref sockRef
	var ok bool
	if q.recLooked {
		side := 1 - q.side
		if q.key.a == q.key.b && q.key.ap == q.key.bp {
			side = q.side // a socket connected to itself: both ends on one side
		}
		ref, ok = x.pickRec(q, side, q.nid, onlyHost, onlyNS)
	} else {
		ref, ok = x.pickSock(k, q.nid, onlyHost, onlyNS)
	}
	if ok {
		return ref.end(BySocket)
	}
	if e, _, ok := x.closedEnd(k, q.nid, onlyHost, onlyNS); ok {
		return e
	}
	if loop {
		if q.clientHost == nil {
			return End{}
		}
		if ref, ok := q.clientHost.listenerAt(q.proto, q.clientNS, q.dst, q.dport, q.dstAddr.Is4()); ok {
			return ref.end(ByListener)
		}
		return End{}
	}
	if ref, ok := x.listener(q.dstAddr, q.dst, q.dport, q); ok {
		return ref.end(ByListener)
	}
	return End{}
}

// listener finds the listener serving ip:port: in the namespaces that own
// ip (the client's first), else a listener on exactly ip.
func (x *FlowIndex) listener(addr netip.Addr, ip [16]byte, port uint16, q *query) (sockRef, bool) {
	var best sockRef
	var found bool
	try := func(ns nsRef) {
		ref, ok := ns.h.listenerAt(q.proto, ns.netns, ip, port, addr.Is4())
		if ok && (!found || q.better(ref, best)) {
			best, found = ref, true
		}
	}
	if first, rest, ok := x.addrs.get(addrKey{ip: ip, nid: q.nid}); ok {
		try(first)
		for _, ns := range rest {
			try(ns)
		}
	}
	if found {
		return best, true
	}
	if first, rest, ok := x.spec.get(specKey{ip: ip, nid: q.nid, port: port, proto: q.proto}); ok {
		try := func(ref sockRef) {
			if !found || q.better(ref, best) {
				best, found = ref, true
			}
		}
		try(first)
		for _, ref := range rest {
			try(ref)
		}
	}
	return best, found
}

// better reports whether a is preferred to b: on the client's host, in
// the client's namespace, on the lower host id, in the lower namespace,
// held by the lower pid.
func (q *query) better(a, b sockRef) bool {
	if ah, bh := a.h == q.clientHost, b.h == q.clientHost; ah != bh {
		return ah
	}
	if an, bn := a.h == q.clientHost && a.netns == q.clientNS, b.h == q.clientHost && b.netns == q.clientNS; an != bn {
		return an
	}
	return lessRef(a, b)
}

func lessRef(a, b sockRef) bool {
	if a.h != b.h {
		return a.h.id < b.h.id
	}
	if a.netns != b.netns {
		return a.netns < b.netns
	}
	if a.pid != b.pid {
		return a.pid < b.pid
	}
	return a.inode < b.inode
}

// pickSock returns the connected socket with local and remote as in k, of a host in network nid (and, when
// only is set, of that host and namespace), the lowest by lessRef.
func (x *FlowIndex) pickSock(k tupleKey, nid uint32, only *hostIndex, onlyNS uint64) (sockRef, bool) {
	r, ck, side, ok := x.conns.record(k)
	if !ok {
		return sockRef{}, false
	}
	return x.pickEnd(r, &ck, side, nid, only, onlyNS)
}

// pickRec is pickEnd on the record client found for q, if any.
func (x *FlowIndex) pickRec(q *query, side int, nid uint32, only *hostIndex, onlyNS uint64) (sockRef, bool) {
	if q.rec == nil {
		return sockRef{}, false
	}
	return x.pickEnd(q.rec, &q.key, side, nid, only, onlyNS)
}

// pickEnd is pickSock on side of record r, whose tuple is k.
func (x *FlowIndex) pickEnd(r *connRec, k *connKey, side int, nid uint32, only *hostIndex, onlyNS uint64) (sockRef, bool) {
	first, rest, ok := x.conns.sideEnds(r, k, side)
	if !ok {
		return sockRef{}, false
	}
	var best sockRef
	found := false
	try := func(c *connEnd) {
		h := x.slots[c.host-1]
		if h.nid != nid || (only != nil && (h != only || c.netns != onlyNS)) {
			return
		}
		if ref := c.ref(h); !found || lessRef(ref, best) {
			best, found = ref, true
		}
	}
	try(first)
	for i := range rest {
		try(&rest[i])
	}
	return best, found
}

// lowest returns the lowest by lessRef of first and rest.
func lowest(first sockRef, rest []sockRef) sockRef {
	best := first
	for _, r := range rest {
		if lessRef(r, best) {
			best = r
		}
	}
	return best
}

// closedEnd returns the short connection with the 4-tuple k, of a host in
// network nid (and of only's namespace onlyNS when only is set).
func (x *FlowIndex) closedEnd(k tupleKey, nid uint32, only *hostIndex, onlyNS uint64) (End, *hostIndex, bool) {
	ref, ok := x.closed[k]
	if !ok || ref.h.nid != nid || (only != nil && ref.h != only) {
		return End{}, nil, false
	}
	c := ref.h.closed.at(ref.seq)
	if c == nil || (only != nil && c.netns != onlyNS) {
		return End{}, nil, false
	}
	return End{How: ByClosed, HostID: ref.h.id, NetNSID: c.netns, PID: c.pid, StartTime: c.start, Name: c.name}, ref.h, true
}

// end is the End of the process holding the socket.
func (r sockRef) end(how Resolution) End {
	e := End{How: how, HostID: r.h.id, NetNSID: r.netns, PID: r.pid}
	if p := &r.h.procs.ents[r.proc]; p.live {
		e.StartTime, e.Name = p.start, p.name
	}
	return e
}
