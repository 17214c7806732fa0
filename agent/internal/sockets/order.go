package sockets

import (
	"cmp"
	"encoding/binary"
)

// protoRank orders the tables as their names sort: tcp, tcp6, udp, udp6.
func protoRank(t *table) uint64 {
	r := uint64(0)
	if t.v6 {
		r |= 1
	}
	if t.udp {
		r |= 2
	}
	return r
}

// compareRows orders rows of one namespace as snapshot.Snapshot documents
// for sockets: Proto, local address, remote address, Inode, where
// addresses compare as netip.AddrPort.Compare does (by BitLen, so IPv4
// before IPv6, then the address, then the port). Rows are sorted by part,
// whose rows share their NetNS, so it is left out. Sorting the 24-byte
// rows in place, each compared through its entry, takes less time than
// sorting packed keys of the fields beside them (BenchmarkSortRows) and
// no memory.
func compareRows(a, b row) int {
	if a.tab != b.tab {
		return cmp.Compare(protoRank(a.table()), protoRank(b.table()))
	}
	if c := compareEndpoints(&a.local, &b.local); c != 0 {
		return c
	}
	if c := compareEndpoints(&a.remote, &b.remote); c != 0 {
		return c
	}
	return cmp.Compare(a.inode, b.inode)
}

// compareEndpoints compares a and b as netip.AddrPort.Compare compares
// their AddrPorts: an IPv4 address is in the first 4 bytes of ip and the
// rest are zero, so the bytes compare as the addresses do.
func compareEndpoints(a, b *endpoint) int {
	if a.bits != b.bits {
		return cmp.Compare(a.bits, b.bits)
	}
	be := binary.BigEndian
	if x, y := be.Uint64(a.ip[:8]), be.Uint64(b.ip[:8]); x != y {
		return cmp.Compare(x, y)
	}
	if x, y := be.Uint64(a.ip[8:]), be.Uint64(b.ip[8:]); x != y {
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a.port, b.port)
}
