package sockets

import (
	"errors"
	"net/netip"
	"slices"
	"time"
)

// table is one of the socket tables of /proc/PID/net.
type table struct {
	name string // file name in /proc/PID/net, also the Socket.Proto
	v6   bool
	udp  bool
}

var tables = [...]table{
	{name: "tcp"},
	{name: "tcp6", v6: true},
	{name: "udp", udp: true},
	{name: "udp6", v6: true, udp: true},
}

// row is a table entry kept for the report: a reportable state and at least
// one owner among the Collect's owners.
type row struct {
	*entry
	sock *sock
	// idx is the entry's index in its table's rows, where the table's
	// addrs has its IPv6 addresses. The part's group has the rows and the
	// namespace. A join keeps a row per socket: 24 bytes.
	idx uint32
	rowTag
}

// rowTag is the table and role of a row. It is a field of its own so that
// a row has four: the compiler keeps a struct of at most four fields in
// registers (ssa.MaxStruct), and sorting rows of five took 1.8 times as
// long (BenchmarkSortRows).
type rowTag struct {
	// tab indexes the row's table in tables.
	tab    uint8
	server bool
}

// table returns the table of r.
func (r *row) table() *table { return &tables[r.tab] }

// endpoints returns the local and remote endpoint of row r of g.
func (g *nsGroup) endpoints(r *row) (local, remote endpoint) {
	return r.entry.endpoints(g.tabs[r.tab].addrsOf(r.idx))
}

// listener reports whether r accepts connections or datagrams from anyone.
func (r *row) listener() bool { return isListener(r.table().udp, r.entry) }

// isListener reports whether entry e of a UDP (udp) or TCP table accepts
// connections or datagrams from anyone: TCP LISTEN, or UDP bound (rows with
// local port 0 are never kept) and not connected.
func isListener(udp bool, e *entry) bool {
	if udp {
		return e.state == stateClose
	}
	return e.state == stateListen
}

// keep reports whether row e of table tab is reported at all.
func keep(tab *table, e *entry) bool {
	if tab.udp {
		return e.lport != 0 && (e.state == stateClose || e.state == stateEstablished)
	}
	return e.state == stateListen || e.state == stateEstablished
}

// nsGroup is one network namespace among a Collect's owners: the owners
// whose NetNS it is, the rows of its tables, and its part of the report.
type nsGroup struct {
	// ns is the namespace, Owner.NetNS, or 0 for a group of owners whose
	// ns/net was unreadable and whose namespace no other owner shows.
	ns uint64
	// tab is the inode of the net/tcp the group's tables were read
	// through, which every process of one namespace shares (see
	// placeHidden); 0 until read.
	tab uint64
	// head is the index in the owners of the group's first owner; the
	// others follow through Collector.nsNext.
	head int
	// diag is the namespace's sock_diag source, nil when its tables are
	// read from /proc/PID/net (see planDiag).
	diag *nsDiag
	tabs [len(tables)]tableRead
	// parts are its TCP rows (tcp, tcp6) and its UDP rows (udp, udp6).
	parts [2]part
}

// part is the rows of one transport of a group: the unit whose roles are
// decided together (a listener serves only its own transport) and whose
// rows are sorted together (in the snapshot order, a group's TCP sockets
// come before its UDP ones).
type part struct {
	// off and end delimit the part's segment of Collector.rows, as long
	// as its tables' entries.
	off, end int
	// rows are, once joined, its rows held by known owners, at the start
	// of its segment; once ordered, sorted; once picked, those reported.
	rows []row
	// out is the index in the report of its first socket.
	out int
	// unowned counts its rows with no known holder; fresh are those of
	// them that earlier Collects did not see (see Collector.rewalk).
	unowned int
	fresh   []fresh
	// young counts, once picked, the rows held back by min-lifetime.
	young int
	// joined counts, once joined, its rows held by known owners; dirty
	// those of them whose socket is new or gained or lost a holder since
	// the last Collect that reported (see Collector.reported).
	joined, dirty int
	// prev is, when the part's sockets are those the last report listed
	// for it, the index of the first of them there, with size their
	// count; else -1 (see markReuse).
	prev, size int
}

// reported returns the number of sockets the part reports: its picked
// rows, or the size of its part of the last report when that stands.
func (p *part) reported() int {
	if p.prev >= 0 {
		return p.size
	}
	return len(p.rows)
}

// rowBuf is the rows of a socket table: entries, and for a *6 table the
// IPv6 addresses of entries[i] in addrs[i] (nil for the other tables). The
// two grow together, addrs never with less capacity than entries, so that
// a memo finds both where the last read left them, or neither (see
// memoRead).
type rowBuf struct {
	entries []entry
	addrs   []addrs6
}

// add appends row r of a table (a *6 table when v6). A full buffer grows
// to at least rows entries (a bound from the table's size, 0 when unknown,
// at most maxRowsHint), else to twice its length: append grows a large
// slice by a quarter at a time, which for a table of 100,000 rows
// allocates several times the final buffer along the way.
func (b *rowBuf) add(r *parsedRow, v6 bool, rows int64) {
	if n := len(b.entries); n == cap(b.entries) {
		b.entries = slices.Grow(b.entries, max(int(min(rows, maxRowsHint)), 2*n, 64)-n)
		if v6 {
			b.addrs = slices.Grow(b.addrs, cap(b.entries)-n)
		}
	}
	b.entries = append(b.entries, r.e)
	if v6 {
		b.addrs = append(b.addrs, r.a)
	}
}

// truncate keeps the first n rows.
func (b *rowBuf) truncate(n int) {
	b.entries = b.entries[:n]
	if b.addrs != nil {
		b.addrs = b.addrs[:n]
	}
}

// takeBack appends the rows the buffers still hold past their length at
// [at, end) (at is the length or more, end at most the capacity of the
// entries), moving them down when at is past the length.
func (b *rowBuf) takeBack(at, end int) {
	n := len(b.entries)
	if n == at {
		b.entries = b.entries[:end]
	} else {
		b.entries = append(b.entries, b.entries[at:end]...)
	}
	if b.addrs != nil {
		if n == at {
			b.addrs = b.addrs[:end]
		} else {
			b.addrs = append(b.addrs, b.addrs[at:end]...)
		}
	}
}

// addrsOf returns the IPv6 addresses of row i, nil in a table of IPv4.
func (b *rowBuf) addrsOf(i uint32) *addrs6 {
	if b.addrs == nil {
		return nil
	}
	return &b.addrs[i]
}

// fit returns b, moved to buffers an eighth longer than its rows when
// their spare capacity is more than a quarter of them (a first read sized
// by the file's length, which overestimates tables with long or dropped
// rows, a buffer doubled by growth, or one left by a table that shrank):
// the memo keeps the buffers for the agent's life. The rows keep their
// places, so the memo's chunks still find them.
func (b rowBuf) fit() rowBuf {
	n := len(b.entries)
	if cap(b.entries)-n <= n/4+64 {
		return b
	}
	b.entries = append(make([]entry, 0, n+n/8), b.entries...)
	if b.addrs != nil {
		b.addrs = append(make([]addrs6, 0, cap(b.entries)), b.addrs...)
	}
	return b
}

// tableRead is one socket table of a group as read in a Collect.
type tableRead struct {
	// rowBuf holds the rows in a reportable state (see keep); the buffers
	// are reused by the next Collect.
	rowBuf
	// err is a read or parse error, logged once; the table then counts as
	// empty.
	err error
	// sum is a hash of entries, in order (see sumRows).
	sum uint64
	// memo is the table's memo, which owns the rows (see attachMemos).
	memo *tableMemo
}

// readGroupTable reads table t of group g over the group's sock_diag
// source when it has one that works (readDiag), else from /proc/PID/net
// through the first owner of the group whose /proc/PID/net can be read. A
// table that is missing (no IPv6 in the kernel) is empty; another error
// leaves it empty with g.tabs[t].err set. A TCP table is not read at all
// when the caller vouched that no TCP socket changed (TCPUnchanged) and
// its last read is whole: its rows are those of that read (keptTCP).
func (c *Collector) readGroupTable(r *reader, g *nsGroup, t int, owners []Owner) {
	tr, tab := &g.tabs[t], &tables[t]
	m := tr.memo
	if c.keepTCP && !tab.udp && c.keptTCP(g, t, m) {
		return
	}
	tr.rowBuf, tr.err = m.rowBuf, nil
	tr.truncate(0)
	whole := false // the rows are all of the table as the kernel has it now
	defer func() {
		tr.rowBuf = tr.fit()
		m.rowBuf, m.sum, m.whole = tr.rowBuf, tr.sum, whole && tr.err == nil
		if t == 0 {
			m.tab = g.tab
		}
	}()
	if g.diag != nil {
		ok := c.readDiag(r, g, t, owners)
		m.forget() // sock_diag wrote the buffer, whether it worked or not
		if ok {
			tr.sum, whole = sumRows(c.sumKey, &tr.rowBuf), true
			return
		}
	}
	var mr memoRead
	for i := g.head; i >= 0; i = c.nsNext[i] {
		pid := owners[i].PID
		// The rows go straight to the memo's buffer, which the next
		// Collects reuse (a second buffer per reader would hold another
		// copy of the largest table for the agent's life); a read that
		// fails half-way through one owner starts again through the next.
		tr.truncate(0)
		mr.begin(m, c.memoSeed, &tr.rowBuf)
		err := r.readTableMemo(pid, tab, &mr, func(row *parsedRow) {
			if keep(tab, &row.e) {
				tr.add(row, tab.v6, r.size/minRowLen(tab))
			}
		})
		c.chunksSkipped.Add(uint64(mr.skipped))
		c.chunksParsed.Add(uint64(mr.parsedN))
		if err == nil {
			c.tableReads.Add(1)
			if t == 0 {
				g.tab = r.ino
			}
			tr.sum, whole = mr.end(c.sumKey), true
			return
		}
		tr.truncate(0)
		m.forget() // the buffer holds part of this read
		if !errors.Is(err, errVanished) {
			tr.err = err
			break
		}
		if r.pidExists(pid) {
			whole = true // the table does not exist, e.g. no IPv6
			break
		}
	}
	tr.sum = sumRows(c.sumKey, &tr.rowBuf)
}

// keptTCP sets TCP table t of g to its rows as last read, when that read
// was whole, and reports whether it did. Table tcp also gives the group
// the inode of its net/tcp as that read found it, unless it found none
// and an owner whose ns/net is unreadable needs it (placeHidden): then
// the table is read.
func (c *Collector) keptTCP(g *nsGroup, t int, m *tableMemo) bool {
	if !m.whole || (t == 0 && m.tab == 0 && len(c.hidden) > 0) {
		return false
	}
	tr := &g.tabs[t]
	tr.rowBuf, tr.sum, tr.err = m.rowBuf, m.sum, nil
	if t == 0 {
		g.tab = m.tab
	}
	c.tablesKept.Add(1)
	return true
}

// minRowLen is the length of the shortest row of table t, newline
// included (the kernel pads tcp rows to 149 characters, udp rows to 127;
// the *6 tables' rows are longer): a table's size over it is at least its
// number of rows.
func minRowLen(t *table) int64 {
	if t.udp {
		return 128
	}
	return 150
}

// maxRowsHint bounds the rows rowBuf.add believes a table's size: a
// file that claims more (a sparse one in a fake tree) gets at most 56 MB
// up front, then doubling as rows come.
const maxRowsHint = 1 << 20

// joinPart keeps the rows of part p (UDP when udp) of g whose socket has a
// known owner, in p's segment of c.rows, and lists in p.fresh the rows of
// sockets newly seen without a holder; their roles and order come after
// (orderPart), once the holders found by a rewalk are in. Parts are joined
// concurrently: each writes only its own segments and reads c.socks and
// c.unowned, which nothing changes meanwhile.
func (c *Collector) joinPart(g *nsGroup, p *part, udp bool) {
	rows := c.rows[p.off:p.off:p.end]
	p.unowned, p.fresh = 0, p.fresh[:0]
	for t := range tables {
		tab, es := &tables[t], g.tabs[t].entries
		if tab.udp != udp {
			continue
		}
		for k := range es {
			if s := c.socks[uint64(es[k].inode)]; s != nil {
				rows = append(rows, row{entry: &es[k], sock: s, idx: uint32(k), rowTag: rowTag{tab: uint8(t)}})
				continue
			}
			p.unowned++
			since, seen := c.unowned[uint64(es[k].inode)]
			if !seen {
				since = c.gen
			}
			if since != settled {
				p.fresh = append(p.fresh, fresh{e: &es[k], udp: udp, since: since})
			}
		}
	}
	p.rows = rows
	p.joined = len(rows)
}

// markJoined marks the socket of every joined row as found in a table by
// this Collect, and adds to each part's dirty count the rows whose socket
// the last report's join did not mark so: new, or whose holders changed
// since (see addHolder). It runs on one goroutine, after the parts are
// joined, so that a socket two parts list (see pick) is written by one:
// plain stores, unlike atomic ones, let the loads of many socks overlap.
func (c *Collector) markJoined() {
	gen := c.gen32()
	for i := range c.groups {
		for t := range c.groups[i].parts {
			p, dirty := &c.groups[i].parts[t], 0
			for _, r := range c.rows[p.off : p.off+p.joined] {
				if j := r.sock.joined; j != gen {
					if j != c.reported {
						dirty++
					}
					r.sock.joined = gen
				}
			}
			p.dirty += dirty // a rewalk's join adds to the first's
		}
	}
}

// orderPart decides the roles of the joined rows of p, a part of g, and
// sorts them in place.
func (c *Collector) orderPart(r *reader, g *nsGroup, p *part) {
	r.roles(g, p.rows)
	slices.SortFunc(p.rows, func(a, b row) int { return compareRows(g, &a, g, &b) })
}

// pick updates the first-seen times of the sockets of p and keeps in
// p.rows those reported: found by no other part in this Collect, and old
// enough. starts are the owners' start times on the first Collect, else
// nil. Parts are picked concurrently; a socket found through two parts
// (owners whose ns/net was unreadable share group 0, or a process changed
// namespace) goes to the one that claims its gen first.
func (c *Collector) pick(p *part, now time.Time, starts map[int]time.Time) {
	n, gen, at := 0, c.gen32(), c.sinceBase(now)
	p.young = 0
	for _, r := range p.rows {
		s := r.sock
		prev := s.gen.Swap(gen)
		switch {
		case prev == gen:
			continue // already reported through another part
		case prev == 0 && starts != nil:
			s.first = c.sinceBase(oldest(s.holders(), starts, now))
		case prev == 0 || s.first > at:
			// New, or (times without a monotonic reading) the wall clock
			// stepped back past its first sight.
			s.first = at
		}
		if time.Duration(at-s.first) >= c.minLifetime {
			p.rows[n] = r
			n++
		} else {
			p.young++
		}
	}
	p.rows = p.rows[:n]
}

// nanosBound bounds sinceBase, so that the difference of two stays in an
// int64: ±146 years.
const nanosBound = 1<<62 - 1

// sinceBase returns t as nanoseconds after c.base, clamped to ±nanosBound
// (an owner's unknown, zero start time is long ago). It is Time.Sub: on
// the monotonic clock when t and the base have a reading of it (the
// Collect times of time.Now), so that min-lifetime ignores steps of the
// wall clock, on the wall clock else (owners' start times).
func (c *Collector) sinceBase(t time.Time) int64 {
	return int64(min(max(t.Sub(c.base), -nanosBound), nanosBound))
}

// socket sets *s to the Socket of row r of g and returns s.
func (c *Collector) socket(s *Socket, g *nsGroup, r *row) *Socket {
	local, remote := g.endpoints(r)
	*s = Socket{
		Proto:     r.table().name,
		Local:     local.AddrPort(),
		Remote:    remote.AddrPort(),
		State:     stateName(r.state),
		Role:      r.role(),
		Inode:     uint64(r.inode),
		NetNS:     g.ns,
		PIDs:      r.sock.holders(),
		holders:   r.sock.pids,
		FirstSeen: c.base.Add(time.Duration(r.sock.first)),
	}
	return s
}

// covers reports whether a listener bound to l accepts traffic addressed to
// a: the same address, 0.0.0.0 for any IPv4 address, :: for any address
// (dual-stack).
func covers(l, a netip.Addr) bool {
	if l == a {
		return true
	}
	if !l.IsUnspecified() {
		return false
	}
	return l.Is6() || a.Is4()
}

// overlap reports whether the sorted pid lists a and b share a pid.
func overlap(a, b []int) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}
