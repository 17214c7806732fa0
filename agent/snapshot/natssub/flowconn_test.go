package natssub

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// check verifies the store's invariants: each record is found from its
// home without crossing an empty slot, no tuple has two records, the
// overflow map holds exactly the sides whose bit is set, and the counts add
// up.
func (s *connStore) check() error {
	used, ends := 0, 0
	seen := map[connKey]bool{}
	for p := range s.recs {
		r := &s.recs[p]
		if r.empty() {
			if r.more != 0 || r.key != (connKey{}) {
				return fmt.Errorf("slot %d: empty, with more %b, key %v", p, r.more, r.key)
			}
			continue
		}
		used++
		if seen[r.key] {
			return fmt.Errorf("slot %d: a second record of %v", p, r.key)
		}
		seen[r.key] = true
		if q, ok := s.find(&r.key); !ok || q != uint32(p) {
			return fmt.Errorf("slot %d: found at %d (%v) from its home", p, q, ok)
		}
		for side, e := range r.ends {
			if e.host != 0 {
				ends++
			}
			rest, ok := s.more[connSideKey{r.key, uint8(side)}]
			if has := r.more&(1<<side) != 0; has != ok || (ok && (len(rest) == 0 || e.host == 0)) {
				return fmt.Errorf("slot %d side %d: more bit %v, overflow %d sockets, side held %v", p, side, has, len(rest), e.host != 0)
			}
			ends += len(rest)
		}
	}
	for sk := range s.more {
		if !seen[sk.k] {
			return fmt.Errorf("overflow of %v side %d without a record", sk.k, sk.side)
		}
	}
	if used != s.used || ends != s.ends {
		return fmt.Errorf("%d records, %d sockets; counts say %d, %d", used, ends, s.used, s.ends)
	}
	return nil
}

// TestConnStoreRandom adds and removes sockets at random over few tuples
// (many on one tuple and side, both sides of one tuple, a table that grows
// and runs that wrap around its end) and checks after every step the
// store's invariants, that each tuple yields exactly the sockets a plain
// map holds, and that the places moved reports are where the sockets are.
func TestConnStoreRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	placed := map[uint64]uint32{} // inode -> place
	s := newConnStore(func(e *connEnd, place uint32) { placed[e.inode] = place }, 0)
	held := map[uint64]tupleKey{}
	var tuples []tupleKey
	for i := range 300 {
		a, b := [16]byte{15: byte(i % 7)}, [16]byte{15: byte(i % 5)}
		tuples = append(tuples, tupleKey{local: a, remote: b, lport: uint16(i % 13), rport: uint16(i % 11), proto: ProtoTCP})
	}
	inode := uint64(0)
	for step := range 4000 {
		if len(held) == 0 || rng.IntN(5) < 3 {
			inode++
			tk := tuples[rng.IntN(len(tuples))]
			placed[inode] = s.add(tk, connEnd{inode: inode, host: 1 + int32(inode%2), pid: int32(inode)})
			held[inode] = tk
		} else {
			for ino, tk := range held {
				s.remove(tk, 1+int32(ino%2), ino, placed[ino])
				delete(held, ino)
				delete(placed, ino)
				break
			}
		}
		if err := s.check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for ino, p := range placed {
			if p == overflowPlace {
				continue
			}
			if c, tk := s.at(p); c.inode != ino || tk != held[ino] {
				t.Fatalf("step %d: inode %d placed at %d holds %d %v", step, ino, p, c.inode, tk)
			}
		}
		if step%50 != 0 {
			continue
		}
		for _, tk := range tuples {
			got := map[uint64]bool{}
			if first, rest, ok := s.get(tk); ok {
				got[first.inode] = true
				for _, c := range rest {
					got[c.inode] = true
				}
			}
			n := 0
			for ino, h := range held {
				if h == tk {
					n++
					if !got[ino] {
						t.Fatalf("step %d: tuple %v yields %v, lacks %d", step, tk, got, ino)
					}
				}
			}
			if n != len(got) {
				t.Fatalf("step %d: tuple %v yields %d sockets, %d held", step, tk, len(got), n)
			}
		}
	}
	if len(s.recs) < 512 {
		t.Fatalf("the table did not grow: %d slots", len(s.recs))
	}
}

// TestConnStoreSized: a store made for n sockets has room for n/2 records
// within its load limit (no growth while they come), and one made for none
// starts small.
func TestConnStoreSized(t *testing.T) {
	for _, n := range []int{0, 1000, 100_000, 3_000_000} {
		s := newConnStore(func(*connEnd, uint32) {}, n)
		slots := len(s.recs)
		if slots&(slots-1) != 0 || slots*3/4 < n/2 || (n > 200 && slots*3/8 >= n/2) {
			t.Errorf("made for %d sockets: %d slots", n, slots)
		}
		if n == 0 && slots != 64 {
			t.Errorf("made for no sockets: %d slots, want 64", slots)
		}
		s.mem.release()
	}
}
