package natssub

import (
	"bytes"
	"hash/maphash"
	"slices"
)

// connStore holds the connected sockets of a FlowIndex (listeners are
// kept per host) by 4-tuple, in a flat hash table of records without
// pointers (the garbage collector does not scan it). A record is one
// connection: its tuple in canonical order and the socket of each side, so
// that a connection between two followed hosts costs one record and a
// lookup of both ends of a flow reads one, in place, with no indirection.
// The table is open addressing with linear probing and backward-shift
// deletion, at most 3/4 full; a tuple has at most one record. Further
// sockets with the same tuple and side (the same loopback or private tuple
// on another host or namespace) go to an overflow map, which a lookup reads
// only when the record says it has some. The hash is seeded per store, so
// that tuples chosen by a publisher cannot be made to pile up in one run.
//
// A socket's place is its record's slot times two plus its side, or
// overflowPlace. Records move (deletion, growth, an overflow socket taking
// a freed side): moved is called with each socket's new place.
type connStore struct {
	seed  maphash.Seed
	recs  []connRec // len a power of 2
	mem   *recMem   // frees recs
	used  int       // records in use
	more  map[connSideKey][]connEnd
	ends  int // sockets held
	moved func(e *connEnd, place uint32)
}

// overflowPlace is the place of a socket kept in the overflow map.
const overflowPlace = ^uint32(0)

// connKey is a 4-tuple in canonical order: endpoint a (address, then
// port) sorts before endpoint b.
type connKey struct {
	a, b   [16]byte
	ap, bp uint16
	proto  Proto
}

// connRec is a connection: its canonical 4-tuple and the socket on each
// side (ends[0] has local = a); an end with host 0 is none, a record with
// neither is an empty slot. Bit s of more says that the overflow map has
// more sockets of side s.
type connRec struct {
	key  connKey
	more uint8
	ends [2]connEnd
}

// connEnd is one connected socket: its namespace, inode, owner (the
// lowest pid), host (its FlowIndex.slots index plus one) and whether its
// Role is server.
type connEnd struct {
	netns, inode uint64
	host         int32
	pid          int32
	proc         int32 // the pid's entry in its host's procTable
	server       bool
}

type connSideKey struct {
	k    connKey
	side uint8
}

func (r *connRec) empty() bool { return r.ends[0].host == 0 && r.ends[1].host == 0 }

// canon returns t's canonical key and the side of t's local endpoint.
func canon(t *tupleKey) (connKey, int) {
	c := bytes.Compare(t.local[:], t.remote[:])
	if c < 0 || (c == 0 && t.lport <= t.rport) {
		return connKey{a: t.local, b: t.remote, ap: t.lport, bp: t.rport, proto: t.proto}, 0
	}
	return connKey{a: t.remote, b: t.local, ap: t.rport, bp: t.lport, proto: t.proto}, 1
}

// tuple returns the 4-tuple of k from side's local endpoint.
func (k *connKey) tuple(side int) tupleKey {
	if side == 0 {
		return tupleKey{local: k.a, remote: k.b, lport: k.ap, rport: k.bp, proto: k.proto}
	}
	return tupleKey{local: k.b, remote: k.a, lport: k.bp, rport: k.ap, proto: k.proto}
}

// newConnStore returns an empty store with a table for about sockets
// connected sockets. Its table may be outside the Go heap (allocRecs):
// whoever drops the store calls mem.release, or leaves it to a cleanup
// (see NewFlowIndex).
func newConnStore(moved func(e *connEnd, place uint32), sockets int) connStore {
	s := connStore{seed: maphash.MakeSeed(), mem: &recMem{}, more: map[connSideKey][]connEnd{}, moved: moved}
	// A record holds both ends of a connection whose two hosts are
	// followed: sockets/2 records, at most 3/4 of the table.
	n := 64
	for n < 1<<30 && n*3/4 < sockets/2 {
		n *= 2
	}
	s.recs, s.mem.free = allocRecs(n)
	return s
}

// recMem holds the function that frees a connStore's table.
type recMem struct{ free func() }

func (m *recMem) release() {
	if m.free != nil {
		m.free()
		m.free = nil
	}
}

func (s *connStore) home(k *connKey) uint32 {
	var b [37]byte
	copy(b[:16], k.a[:])
	copy(b[16:32], k.b[:])
	b[32], b[33], b[34], b[35], b[36] = byte(k.ap), byte(k.ap>>8), byte(k.bp), byte(k.bp>>8), byte(k.proto)
	return uint32(maphash.Bytes(s.seed, b[:])) & uint32(len(s.recs)-1)
}

// find returns the slot of k's record, or of the empty slot where it
// would go.
func (s *connStore) find(k *connKey) (uint32, bool) {
	mask := uint32(len(s.recs) - 1)
	for p := s.home(k); ; p = (p + 1) & mask {
		r := &s.recs[p]
		if r.empty() {
			return p, false
		}
		if r.key == *k {
			return p, true
		}
	}
}

// add stores the socket e with tuple t and returns its place.
func (s *connStore) add(t tupleKey, e connEnd) uint32 {
	k, side := canon(&t)
	p, ok := s.find(&k)
	s.ends++
	if !ok {
		if (s.used+1)*4 > len(s.recs)*3 {
			s.grow()
			p, _ = s.find(&k)
		}
		s.used++
		s.recs[p] = connRec{key: k}
	}
	r := &s.recs[p]
	if r.ends[side].host != 0 {
		sk := connSideKey{k, uint8(side)}
		s.more[sk] = append(s.more[sk], e)
		r.more |= 1 << side
		return overflowPlace
	}
	r.ends[side] = e
	return p<<1 | uint32(side)
}

// remove takes out the socket of host and inode with tuple t at place and
// returns it, or false when it is not there.
func (s *connStore) remove(t tupleKey, host int32, inode uint64, place uint32) (connEnd, bool) {
	k, side := canon(&t)
	if place == overflowPlace {
		sk := connSideKey{k, uint8(side)}
		rest := s.more[sk]
		i := slices.IndexFunc(rest, func(e connEnd) bool { return e.host == host && e.inode == inode })
		if i < 0 {
			return connEnd{}, false
		}
		c := rest[i]
		s.ends--
		rest[i] = rest[len(rest)-1]
		s.setMore(sk, rest[:len(rest)-1])
		return c, true
	}
	p := place >> 1
	r := &s.recs[p]
	c := r.ends[side]
	if c.host != host || c.inode != inode || r.key != k {
		return connEnd{}, false
	}
	s.ends--
	r.ends[side] = connEnd{}
	if r.more&(1<<side) != 0 {
		sk := connSideKey{k, uint8(side)}
		rest := s.more[sk]
		r.ends[side] = rest[len(rest)-1]
		s.setMore(sk, rest[:len(rest)-1])
		s.moved(&r.ends[side], place)
		return c, true
	}
	if r.empty() {
		s.delete(p)
	}
	return c, true
}

// setMore keeps rest as the overflow of sk, clearing its record's bit when
// rest is empty.
func (s *connStore) setMore(sk connSideKey, rest []connEnd) {
	if len(rest) > 0 {
		s.more[sk] = rest
		return
	}
	delete(s.more, sk)
	if p, ok := s.find(&sk.k); ok {
		s.recs[p].more &^= 1 << sk.side
	}
}

// delete empties slot p, moving back each later record of the run whose
// home is not between the hole and it.
func (s *connStore) delete(p uint32) {
	mask := uint32(len(s.recs) - 1)
	for q := (p + 1) & mask; !s.recs[q].empty(); q = (q + 1) & mask {
		if home := s.home(&s.recs[q].key); (q-home)&mask >= (q-p)&mask {
			s.recs[p] = s.recs[q]
			s.movedRec(p)
			p = q
		}
	}
	s.recs[p] = connRec{}
	s.used--
}

// movedRec tells moved the new places of the sockets of the record now at
// slot p.
func (s *connStore) movedRec(p uint32) {
	r := &s.recs[p]
	for side := range r.ends {
		if r.ends[side].host != 0 {
			s.moved(&r.ends[side], p<<1|uint32(side))
		}
	}
}

// grow doubles the table.
func (s *connStore) grow() {
	old, free := s.recs, s.mem.free
	s.recs, s.mem.free = allocRecs(2 * len(old))
	defer free()
	mask := uint32(len(s.recs) - 1)
	for i := range old {
		if old[i].empty() {
			continue
		}
		p := s.home(&old[i].key)
		for !s.recs[p].empty() { // no tuple is there twice: no key to compare
			p = (p + 1) & mask
		}
		s.recs[p] = old[i]
		s.movedRec(p)
	}
}

// at returns the socket at place (not overflowPlace) and its tuple from
// its side.
func (s *connStore) at(place uint32) (connEnd, tupleKey) {
	r := &s.recs[place>>1]
	side := int(place & 1)
	return r.ends[side], r.key.tuple(side)
}

// get returns the sockets whose tuple from their side is t: the first and
// the others, and whether there is one.
func (s *connStore) get(t tupleKey) (first *connEnd, rest []connEnd, ok bool) {
	r, k, side, found := s.record(t)
	if !found {
		return nil, nil, false
	}
	return s.sideEnds(r, &k, side)
}

// record returns the record of t's tuple, the tuple in canonical order and
// the side of t's local endpoint, and whether there is one.
func (s *connStore) record(t tupleKey) (*connRec, connKey, int, bool) {
	k, side := canon(&t)
	p, found := s.find(&k)
	if !found {
		return nil, k, side, false
	}
	return &s.recs[p], k, side, true
}

// sideEnds returns the sockets of side of record r, whose tuple is k: the
// first and the others, and whether there is one.
func (s *connStore) sideEnds(r *connRec, k *connKey, side int) (first *connEnd, rest []connEnd, ok bool) {
	if r.ends[side].host == 0 {
		return nil, nil, false
	}
	if r.more&(1<<side) != 0 {
		rest = s.more[connSideKey{*k, uint8(side)}]
	}
	return &r.ends[side], rest, true
}

// multimap maps a key to one value or, rarely, several (the same 4-tuple
// on two hosts, SO_REUSEPORT listeners): the first sits in one map, the
// rest in another, so that the common case costs one map entry.
type multimap[K, V comparable] struct {
	first map[K]V
	rest  map[K][]V
}

func newMultimap[K, V comparable]() multimap[K, V] {
	return multimap[K, V]{first: map[K]V{}, rest: map[K][]V{}}
}

func (m *multimap[K, V]) add(k K, v V) {
	if _, ok := m.first[k]; !ok {
		m.first[k] = v
		return
	}
	m.rest[k] = append(m.rest[k], v)
}

// remove takes v off k's values; it does nothing when v is not there.
func (m *multimap[K, V]) remove(k K, v V) {
	f, ok := m.first[k]
	if !ok {
		return
	}
	r := m.rest[k]
	if f == v {
		if len(r) == 0 {
			delete(m.first, k)
			return
		}
		m.first[k] = r[len(r)-1]
		r = r[:len(r)-1]
	} else {
		i := 0
		for i < len(r) && r[i] != v {
			i++
		}
		if i == len(r) {
			return
		}
		r[i] = r[len(r)-1]
		r = r[:len(r)-1]
	}
	if len(r) == 0 {
		delete(m.rest, k)
	} else {
		m.rest[k] = r
	}
}

// get returns k's first value, the others, and whether there is one.
func (m *multimap[K, V]) get(k K) (first V, rest []V, ok bool) {
	first, ok = m.first[k]
	if ok && len(m.rest) > 0 {
		rest = m.rest[k]
	}
	return first, rest, ok
}

func (m *multimap[K, V]) len() int { return len(m.first) }
