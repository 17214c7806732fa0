package sockets

import (
	"net/netip"
	"slices"
)

// sortKey orders a row among those of its namespace as snapshot.Snapshot
// documents for sockets: Proto, local address, remote address, Inode,
// where addresses compare as netip.AddrPort.Compare does (IPv4 before
// IPv6, then the address, then the port). Keys are sorted by part, whose
// rows share their NetNS, so it is left out. The fields are packed big-end
// first into words, so comparing the words in order compares the rows;
// this is several times cheaper than comparing Sockets field by field and
// moves less memory.
type sortKey struct {
	w   [6]uint64
	row int32
}

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

// bits packs fields into words, most significant bit first.
type bits struct {
	w *[6]uint64
	n int
}

// put appends the low size bits of v.
func (b *bits) put(v uint64, size int) {
	for size > 0 {
		i, off := b.n/64, b.n%64
		take := min(64-off, size)
		chunk := v >> (size - take)
		if take < 64 {
			chunk &= 1<<take - 1
		}
		b.w[i] |= chunk << (64 - off - take)
		b.n += take
		size -= take
	}
}

// putAddrPort appends 1 bit for the family (IPv4 first), 128 bits of
// address and 16 of port: 145 bits.
func (b *bits) putAddrPort(ap netip.AddrPort) {
	a := ap.Addr()
	if a.Is6() {
		b.put(1, 1)
	} else {
		b.put(0, 1)
	}
	x := a.As16()
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(x[i])
		lo = lo<<8 | uint64(x[8+i])
	}
	b.put(hi, 64)
	b.put(lo, 64)
	b.put(uint64(ap.Port()), 16)
}

// keyOf returns the sort key of rows[i]: 2 + 145 + 145 + 64 packed bits.
func keyOf(r *row, i int) sortKey {
	k := sortKey{row: int32(i)}
	b := bits{w: &k.w}
	b.put(protoRank(r.table()), 2)
	b.putAddrPort(r.local.AddrPort())
	b.putAddrPort(r.remote.AddrPort())
	b.put(r.inode, 64)
	return k
}

// sortKeys sorts keys in the snapshot order.
func sortKeys(keys []sortKey) {
	slices.SortFunc(keys, func(a, b sortKey) int {
		for i := range a.w {
			if a.w[i] != b.w[i] {
				if a.w[i] < b.w[i] {
					return -1
				}
				return 1
			}
		}
		return 0
	})
}
