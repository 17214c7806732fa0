package natssub

import "bytes"

// connIndex holds connected sockets by 4-tuple. Both sockets of one
// connection (local = a, remote = b on one side, the reverse on the other)
// share one entry under the tuple in canonical order, so that a lookup of
// both ends of a flow reads one map slot (the second read is a cache hit)
// and a connection between two followed hosts costs one entry, not two.
// Further sockets with the same tuple and side (the same loopback or
// private tuple on another host or namespace) go to an overflow map, which
// a lookup reads only when the slot says it has some.
type connIndex struct {
	slots map[connKey]connSlot
	more  map[connSideKey][]sockRef
}

// connKey is a 4-tuple in canonical order: endpoint a (address, then
// port) sorts before endpoint b.
type connKey struct {
	a, b   [16]byte
	ap, bp uint16
	proto  Proto
}

// connSlot is the sockets of one canonical tuple: ends[0] has local = a,
// ends[1] local = b; a zero sockRef is none. Bit s of more says that the
// overflow map has more sockets of side s.
type connSlot struct {
	ends [2]sockRef
	more uint8
}

type connSideKey struct {
	k    connKey
	side uint8
}

func newConnIndex() connIndex {
	return connIndex{slots: map[connKey]connSlot{}, more: map[connSideKey][]sockRef{}}
}

// canon returns the canonical key of t and the side of t's local endpoint.
func canon(t tupleKey) (connKey, uint8) {
	c := bytes.Compare(t.local[:], t.remote[:])
	if c < 0 || (c == 0 && t.lport <= t.rport) {
		return connKey{a: t.local, b: t.remote, ap: t.lport, bp: t.rport, proto: t.proto}, 0
	}
	return connKey{a: t.remote, b: t.local, ap: t.rport, bp: t.lport, proto: t.proto}, 1
}

func (c *connIndex) add(t tupleKey, ref sockRef) {
	k, side := canon(t)
	slot := c.slots[k]
	if slot.ends[side].h == nil {
		slot.ends[side] = ref
	} else {
		sk := connSideKey{k, side}
		c.more[sk] = append(c.more[sk], ref)
		slot.more |= 1 << side
	}
	c.slots[k] = slot
}

// remove takes ref off t's sockets; it does nothing when ref is not there.
func (c *connIndex) remove(t tupleKey, ref sockRef) {
	k, side := canon(t)
	slot, ok := c.slots[k]
	if !ok {
		return
	}
	sk := connSideKey{k, side}
	rest := c.more[sk]
	if slot.ends[side] == ref {
		slot.ends[side] = sockRef{}
		if len(rest) > 0 {
			slot.ends[side] = rest[len(rest)-1]
			rest = rest[:len(rest)-1]
		}
	} else {
		i := 0
		for i < len(rest) && rest[i] != ref {
			i++
		}
		if i == len(rest) {
			return
		}
		rest[i] = rest[len(rest)-1]
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 0 {
		delete(c.more, sk)
		slot.more &^= 1 << side
	} else {
		c.more[sk] = rest
	}
	if slot.ends[0].h == nil && slot.ends[1].h == nil {
		delete(c.slots, k)
		return
	}
	c.slots[k] = slot
}

// get returns the sockets whose local endpoint is t's local and remote
// t's remote: the first, the others, and whether there is one.
func (c *connIndex) get(t tupleKey) (first sockRef, rest []sockRef, ok bool) {
	k, side := canon(t)
	slot, found := c.slots[k]
	if !found || slot.ends[side].h == nil {
		return sockRef{}, nil, false
	}
	if slot.more&(1<<side) != 0 {
		rest = c.more[connSideKey{k, side}]
	}
	return slot.ends[side], rest, true
}

// sockets returns the number of sockets held.
func (c *connIndex) sockets() int {
	n := 0
	for _, s := range c.slots {
		for _, e := range s.ends {
			if e.h != nil {
				n++
			}
		}
	}
	for _, r := range c.more {
		n += len(r)
	}
	return n
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
