package snapshot

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// SocketRow is a Socket in the form a producer keeps between ticks: the
// addresses as bytes instead of text and the proto, state and role as
// indexes into a fixed table of names, the holders by pointer: 64 bytes in
// all against a Socket's 136 and its two address strings. Socket returns the Socket it stands
// for; WriteJSON writes a row as that Socket, byte for byte.
type SocketRow struct {
	// pids points to the processes holding the socket (see PIDs), nil
	// for none.
	pids *[]int
	// Inode and NetNSID are Socket's.
	Inode, NetNSID uint64
	local, remote  [16]byte
	localPort      uint16
	remotePort     uint16
	proto, state   uint8
	role           uint8
	// kinds holds the local address's kind in its low nibble and the
	// remote's in the high one (addrInvalid, addr4, addr6).
	kinds uint8
}

// The kinds of a row's address.
const (
	addrInvalid = iota
	addr4
	addr6
)

// socketNames are the names a row's proto, state and role index: every
// proto, the kernel's TCP state names (sockets reports UDP as CLOSE or
// ESTABLISHED), UNKNOWN for a state it has no name for, the two roles,
// and "" at 0.
var socketNames = [...]string{"",
	"tcp", "tcp6", "udp", "udp6",
	"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
	"CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE", "UNKNOWN",
	RoleServer, RoleClient,
}

// nameIndex returns the index of name in socketNames, and whether it is
// there.
func nameIndex(name string) (uint8, bool) {
	for i, n := range socketNames {
		if n == name {
			return uint8(i), true
		}
	}
	return 0, false
}

// KnownSocketName reports whether a row can hold name as a proto, state or
// role: NewSocketRow panics on any other.
func KnownSocketName(name string) bool {
	_, ok := nameIndex(name)
	return ok
}

// NewSocketRow returns the row of a socket. The addresses must have no
// zone (the kernel's socket tables give none); proto, state and role must
// be names KnownSocketName accepts, else NewSocketRow panics: they come
// from the producer's own constants. pids is kept, not copied.
//
// pids points to the processes holding the socket, ascending, as Socket's
// PIDs; the row keeps the pointer (nil for none), and the slice may be
// shared: it must never change.
func NewSocketRow(proto string, local, remote netip.AddrPort, state, role string, inode, netns uint64, pids *[]int) SocketRow {
	r := SocketRow{pids: pids, Inode: inode, NetNSID: netns, localPort: local.Port(), remotePort: remote.Port()}
	r.proto, r.state, r.role = mustName(proto), mustName(state), mustName(role)
	r.kinds = putAddr(&r.local, local.Addr()) | putAddr(&r.remote, remote.Addr())<<4
	return r
}

// mustName returns name's index, panicking on a name the table lacks.
func mustName(name string) uint8 {
	i, ok := nameIndex(name)
	if !ok {
		panic(fmt.Sprintf("snapshot: socket row: unknown name %q", name))
	}
	return i
}

// putAddr stores a in b and returns its kind; a zoned address panics.
func putAddr(b *[16]byte, a netip.Addr) uint8 {
	switch {
	case a.Zone() != "":
		panic(fmt.Sprintf("snapshot: socket row: zoned address %v", a))
	case a.Is4():
		v := a.As4()
		copy(b[:], v[:])
		return addr4
	case a.Is6():
		*b = a.As16()
		return addr6
	}
	return addrInvalid
}

// addrOf is the address a row stored in b with kind k.
func addrOf(b *[16]byte, k uint8) netip.Addr {
	switch k {
	case addr4:
		return netip.AddrFrom4([4]byte(b[:4]))
	case addr6:
		return netip.AddrFrom16(*b)
	}
	return netip.Addr{}
}

// Proto returns the socket's Proto.
func (r *SocketRow) Proto() string { return socketNames[r.proto] }

// State returns the socket's State.
func (r *SocketRow) State() string { return socketNames[r.state] }

// Role returns the socket's Role.
func (r *SocketRow) Role() string { return socketNames[r.role] }

// Local returns the socket's local address and port.
func (r *SocketRow) Local() netip.AddrPort {
	return netip.AddrPortFrom(addrOf(&r.local, r.kinds&0xf), r.localPort)
}

// Remote returns the socket's remote address and port.
func (r *SocketRow) Remote() netip.AddrPort {
	return netip.AddrPortFrom(addrOf(&r.remote, r.kinds>>4), r.remotePort)
}

// PIDs returns the processes holding the socket, ascending, as in Socket:
// shared, never to be changed.
func (r *SocketRow) PIDs() []int {
	if r.pids == nil {
		return nil
	}
	return *r.pids
}

// Socket returns the Socket the row stands for; it shares the row's PIDs.
func (r *SocketRow) Socket() Socket {
	return Socket{Proto: r.Proto(), LocalIP: r.Local().Addr().String(), LocalPort: r.localPort,
		RemoteIP: r.Remote().Addr().String(), RemotePort: r.remotePort, State: r.State(), Role: r.Role(),
		Inode: r.Inode, PIDs: r.PIDs(), NetNSID: r.NetNSID}
}

// Sockets returns the Sockets rows stand for, nil for nil rows.
func Sockets(rows []SocketRow) []Socket {
	if rows == nil {
		return nil
	}
	out := make([]Socket, len(rows))
	for i := range rows {
		out[i] = rows[i].Socket()
	}
	return out
}

// appendSocketRow appends r as appendSocket appends r.Socket(), without
// making the address strings.
func appendSocketRow(b []byte, r *SocketRow, indent string, depth int) []byte {
	b = append(b, '{')
	b = appendKey(b, "proto", indent, depth+1)
	b = appendJSONString(b, r.Proto())
	b = appendNextKey(b, "local_ip", indent, depth+1)
	b = appendAddr(b, r.Local().Addr())
	b = appendNextKey(b, "local_port", indent, depth+1)
	b = strconv.AppendUint(b, uint64(r.localPort), 10)
	b = appendNextKey(b, "remote_ip", indent, depth+1)
	b = appendAddr(b, r.Remote().Addr())
	b = appendNextKey(b, "remote_port", indent, depth+1)
	b = strconv.AppendUint(b, uint64(r.remotePort), 10)
	b = appendNextKey(b, "state", indent, depth+1)
	b = appendJSONString(b, r.State())
	b = appendNextKey(b, "role", indent, depth+1)
	b = appendJSONString(b, r.Role())
	return appendSocketTail(b, r.Inode, r.PIDs(), r.NetNSID, indent, depth)
}

// appendAddr appends a's text as a JSON string: an address's text needs
// no escaping.
func appendAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	} else {
		b = append(b, "invalid IP"...)
	}
	return append(b, '"')
}

// compareRows orders rows as compareSockets orders their Sockets.
func compareRows(a, b SocketRow) int {
	if c := cmp.Compare(a.NetNSID, b.NetNSID); c != 0 {
		return c
	}
	if a.proto != b.proto {
		return strings.Compare(socketNames[a.proto], socketNames[b.proto])
	}
	if c := compareRowAddr(a.Local().Addr(), b.Local().Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.localPort, b.localPort); c != 0 {
		return c
	}
	if c := compareRowAddr(a.Remote().Addr(), b.Remote().Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.remotePort, b.remotePort); c != 0 {
		return c
	}
	return cmp.Compare(a.Inode, b.Inode)
}

// compareRowAddr orders addresses as compareIP orders their text.
func compareRowAddr(a, b netip.Addr) int {
	if a.IsValid() && b.IsValid() {
		return a.Compare(b)
	}
	if a == b {
		return 0
	}
	return strings.Compare(a.String(), b.String())
}

// equalRow reports whether a and b are the same socket, as equalSocket
// reports it of their Sockets.
func equalRow(a, b *SocketRow) bool {
	return a.Inode == b.Inode && a.NetNSID == b.NetNSID && a.local == b.local && a.remote == b.remote &&
		a.localPort == b.localPort && a.remotePort == b.remotePort && a.proto == b.proto &&
		a.state == b.state && a.role == b.role && a.kinds == b.kinds && slices.Equal(a.PIDs(), b.PIDs())
}

// FindSocketRow is FindSocket for rows sorted in snapshot order.
func FindSocketRow(rows []SocketRow, netns uint64, proto string, local, remote netip.AddrPort) (int, bool) {
	p, ok := nameIndex(proto)
	if !ok || local.Addr().Zone() != "" || remote.Addr().Zone() != "" {
		return 0, false // no row has it
	}
	key := SocketRow{NetNSID: netns, proto: p, localPort: local.Port(), remotePort: remote.Port()}
	key.kinds = putAddr(&key.local, local.Addr()) | putAddr(&key.remote, remote.Addr())<<4
	return slices.BinarySearchFunc(rows, key, func(r, k SocketRow) int {
		r.Inode = 0
		return compareRows(r, k)
	})
}
