package sockets

import (
	"encoding/binary"
	mbits "math/bits"
	"time"
)

// lastCollect is what the last Collect's Sockets were made from: enough to
// tell that the next Collect would make the same (see unchanged).
type lastCollect struct {
	now     time.Time
	holders uint64      // Collector.holderChanges after it
	tables  []tableSig  // its groups' tables, in order
	parts   []partMemos // its groups' parts, in order
	ok      bool        // its Sockets may stand again: no socket was young
}

// partMemos are a group's partMemo, TCP then UDP.
type partMemos [2]partMemo

// partMemo is what the last report made of one part: its sockets are
// out[out:out+size] of that report, made of joined rows held by known
// owners.
type partMemo struct{ out, size, joined int }

// tableSig identifies the tables of one group as a Collect read them.
type tableSig struct {
	ns, tab uint64
	sums    [len(tables)]uint64
	failed  [len(tables)]bool
}

// sumRows hashes the rows of a table in order: every field that the join
// and the report read (addresses, state, uid, inode), mixed with key, a
// random secret of the Collector, so that the rows of a table cannot be
// chosen to hash as an earlier table did. A collision would make a Collect
// return the last Sockets again although a row changed.
func sumRows(key uint64, b *rowBuf) uint64 {
	es := b.entries
	h := key ^ uint64(len(es))
	for i := range es {
		e := &es[i]
		addrs := uint64(e.local)<<32 | uint64(e.remote)
		meta := uint64(e.lport)<<48 | uint64(e.rport)<<32 | uint64(e.uid)
		kind := uint64(e.state) | uint64(e.lbits)<<8 | uint64(e.rbits)<<16
		h = mix(h^addrs, (uint64(e.inode)|kind<<40)^key)
		h = mix(h^meta, key)
		if b.addrs != nil {
			l, r := &b.addrs[i][0], &b.addrs[i][1]
			h = mix(h^binary.LittleEndian.Uint64(l[:8]), binary.LittleEndian.Uint64(l[8:])^key)
			h = mix(h^binary.LittleEndian.Uint64(r[:8]), binary.LittleEndian.Uint64(r[8:])^key)
		}
	}
	return h
}

// mix folds a and b into one word: the two halves of their 128-bit product
// (the mixing step of wyhash).
func mix(a, b uint64) uint64 {
	hi, lo := mbits.Mul64(a, b)
	return hi ^ lo
}

// unchanged reports whether this Collect would make the same Sockets as the
// last: it is not the first, no socket was held back by min-lifetime last
// time, none waits for its candidate owners to be walked (see rewalk), the clock did not go back, no socket gained or lost a holder since
// (new owners walked, owners forgotten, and on a full Collect every
// owner's fd/ walked again), and every group read the same tables, row
// for row, as last time. Then the join, the roles, the order and the
// report are skipped: on a host where nothing changed, a steady Collect
// costs the table reads and a hash of their rows, a full one the walks
// too. A socket that appeared without a known holder changes its table, so
// the rows are joined and the holders walked as usual.
func (c *Collector) unchanged(now time.Time, first bool) bool {
	l := &c.last
	if first || !l.ok || c.pending > 0 || now.Before(l.now) || c.holderChanges != l.holders || len(c.groups) != len(l.tables) {
		return false
	}
	for i := range c.groups {
		if c.tableSig(&c.groups[i]) != l.tables[i] {
			return false
		}
	}
	c.young = 0
	l.now = now
	c.reused.Add(1)
	return true
}

// remember notes what this Collect's Sockets were made from, for unchanged.
func (c *Collector) remember(now time.Time) {
	l := &c.last
	l.now, l.holders, l.ok = now, c.holderChanges, c.young == 0
	l.tables, l.parts = l.tables[:0], l.parts[:0]
	for i := range c.groups {
		g := &c.groups[i]
		l.tables = append(l.tables, c.tableSig(g))
		var ms partMemos
		for t := range g.parts {
			p := &g.parts[t]
			ms[t] = partMemo{out: p.out, size: p.reported(), joined: p.joined}
		}
		l.parts = append(l.parts, ms)
	}
}

// markReuse sets prev and size of every part whose sockets are those that
// the last report (lastOut, when it is of the type being reported) listed
// for it, so that they are copied from there: the same rows of the same
// namespace's tables, read byte for byte as then, all of them reported
// then, held by the same owners (no joined row is dirty), and the clock
// did not go back. This Collect then skips their roles, order and
// conversion: where a few connections change, the report costs about as
// much as the namespaces and transports they change, not the host. No
// part stands when a group of an unknown namespace (ns 0) is there, whose
// sockets are sorted with those of the other such groups (sortZero).
func (c *Collector) markReuse(now time.Time, lastOut bool) {
	l := &c.last
	ok := lastOut && c.reported != 0 && !now.Before(l.now) && (len(c.groups) == 0 || c.groups[0].ns != 0)
	j := 0 // the last Collect's groups, which are sorted too
	for i := range c.groups {
		g := &c.groups[i]
		for t := range g.parts {
			g.parts[t].prev = -1
		}
		if !ok {
			continue
		}
		for j < len(l.tables) && l.tables[j].ns < g.ns {
			j++
		}
		if j == len(l.tables) || l.tables[j].ns != g.ns {
			continue
		}
		sig, was := c.tableSig(g), l.tables[j]
		for t := range g.parts {
			p, m := &g.parts[t], &l.parts[j][t]
			if p.dirty == 0 && p.joined == m.joined && m.size == m.joined && sameTables(sig, was, t == 1) {
				p.prev, p.size, p.young = m.out, m.size, 0
			}
		}
	}
}

// sameTables reports whether signatures a and b have the same UDP (udp) or
// TCP tables, read from the same net/tcp.
func sameTables(a, b tableSig, udp bool) bool {
	if a.tab != b.tab {
		return false
	}
	for t := range tables {
		if tables[t].udp == udp && (a.sums[t] != b.sums[t] || a.failed[t] != b.failed[t]) {
			return false
		}
	}
	return true
}

// claim claims for this Collect the sockets of p, which all went to p in
// the last report (markReuse), as pick does: it reports false, and
// leaves them as they were, when one of them was claimed already, by a
// part that reads the same table (a process that changed namespace
// between the reads); p is then picked as usual.
func (c *Collector) claim(p *part) bool {
	rows, gen := c.rows[p.off:p.off+p.joined], c.gen32()
	for i := range rows {
		if !rows[i].sock.gen.CompareAndSwap(c.reported, gen) {
			for k := range rows[:i] {
				rows[k].sock.gen.Store(c.reported)
			}
			return false
		}
	}
	return true
}

// tableSig returns g's signature.
func (c *Collector) tableSig(g *nsGroup) tableSig {
	sig := tableSig{ns: g.ns, tab: g.tab}
	for t := range g.tabs {
		sig.sums[t] = g.tabs[t].sum
		sig.failed[t] = g.tabs[t].err != nil
	}
	return sig
}

// Reused returns how many Collects returned the previous Collect's Sockets
// because nothing had changed; for tests and benchmarks.
func (c *Collector) Reused() uint64 { return c.reused.Load() }
