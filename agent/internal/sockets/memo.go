package sockets

import "hash/maphash"

// tableMemo is what the last read of one socket table of one namespace
// left: its kept rows, which it owns (the group reading the table uses the
// buffer during a Collect), their sum, and a signature of each chunk of
// the file as readTable read it. A chunk whose bytes hash as the same
// chunk did last time, and whose rows would land where they did, is not
// parsed again: its rows are still in the buffer (see memoRead). On a host
// where nothing changed, a steady Collect reads the tables and hashes
// their bytes instead of parsing them.
type tableMemo struct {
	rowBuf
	chunks []chunkSig
	sum    uint64
	gen    uint64 // the last Collect that used it
	// whole is set when the rows are all the table's rows as last read
	// (the read worked, or found no such table); tab is the inode of
	// net/tcp that the read of table tcp found, 0 for none. Both serve
	// a Collect that keeps the TCP tables (see keptTCP).
	whole bool
	tab   uint64
}

// chunkSig is one chunk of a table read: the hash of its bytes, and the
// number of kept rows and of lines read once it was parsed.
type chunkSig struct {
	hash    uint64
	entries int
	line    int
}

// memoKey names the table a memo is of: table t of namespace ns, or for
// a group of an unknown namespace (ns 0), of the namespace whose net/tcp
// has inode tab; for such a group whose net/tcp could not be seen either
// (tab 0: each is a group of its own, see placeHidden), of the group with
// head owner head, so that no two groups read into one memo at once.
type memoKey struct {
	ns, tab uint64
	t, head int
}

// attachMemos gives every table of groups its memo, made when the table
// has none, and marks the memos used by this Collect. It runs before the
// tables are read concurrently, which then use the memos without a lock.
func (c *Collector) attachMemos(groups []nsGroup) {
	for i := range groups {
		g := &groups[i]
		key := memoKey{ns: g.ns}
		if g.ns == 0 {
			key.tab = g.tab
			if g.tab == 0 {
				key.head = g.head
			}
		}
		for t := range tables {
			key.t = t
			m := c.memos[key]
			if m == nil {
				m = &tableMemo{}
				c.memos[key] = m
			}
			m.gen = c.gen
			g.tabs[t].memo = m
		}
	}
}

// dropMemos forgets the memos of tables no group read in this Collect
// (namespaces that went away), with their buffers.
func (c *Collector) dropMemos() {
	for k, m := range c.memos {
		if m.gen != c.gen {
			delete(c.memos, k)
		}
	}
}

// memoRead is one read of a table through its memo: it tells readTable
// which chunks need no parse and records the chunks of this read over
// those of the last (chunk n's signature only once chunk n is read).
type memoRead struct {
	m    *tableMemo
	seed maphash.Seed
	// b is the table's rows as being read; capAt is the capacity of its
	// entries when the read began: once the buffers grew, the rows of the
	// chunks after are no longer in them.
	b     *rowBuf
	capAt int
	// n counts the chunks of this read; before is the last read's
	// signature of chunk n-1 (zero for n = 0), which says where the rows
	// and lines of chunk n began then.
	n      int
	before chunkSig
	parsed bool // some chunk was parsed, or the chunks differ in number
	// skipped and parsedN count the chunks of this read that were left
	// alone and parsed.
	skipped, parsedN int
}

// begin starts a read of the table whose rows go to *b, the memo's
// buffers emptied.
func (mr *memoRead) begin(m *tableMemo, seed maphash.Seed, b *rowBuf) {
	*mr = memoRead{m: m, seed: seed, b: b, capAt: cap(b.entries)}
}

// skip reports whether chunk (the bytes that follow line *line) is the
// same as the same chunk of the last read, with as many rows and lines
// before it; then the rows it holds are in place, and the rows and *line
// are set to follow it. When it returns false, the caller parses the
// chunk and calls parsedChunk.
func (mr *memoRead) skip(chunk []byte, line *int) bool {
	h := maphash.Bytes(mr.seed, chunk)
	cs := mr.m.chunks
	var old chunkSig
	if mr.n < len(cs) {
		old = cs[mr.n]
	} else {
		mr.m.chunks = append(cs, chunkSig{})
	}
	// The chunk's rows are where the last read left them, from
	// before.entries on, unless this read has written past that point or
	// moved the buffer. A chunk before it that kept fewer rows than last
	// time leaves them to be moved down.
	b, at := mr.b, mr.before.entries
	n := len(b.entries)
	same := mr.n < len(cs) && old.hash == h && *line == mr.before.line &&
		n <= at && cap(b.entries) == mr.capAt
	mr.before = old
	mr.m.chunks[mr.n].hash = h
	if !same {
		mr.parsed = true
		return false
	}
	if n < at {
		mr.parsed = true // the rows moved: their sum is new
	}
	b.takeBack(at, old.entries)
	*line = old.line
	mr.record(old.line)
	mr.skipped++
	return true
}

// parsedChunk records where the chunk that skip refused left the rows and
// the line count.
func (mr *memoRead) parsedChunk(line int) {
	mr.record(line)
	mr.parsedN++
}

// record completes the signature of chunk n, which ends the rows so far
// and line line.
func (mr *memoRead) record(line int) {
	sig := &mr.m.chunks[mr.n]
	sig.entries, sig.line = len(mr.b.entries), line
	mr.n++
}

// end finishes a whole read: the memo keeps this read's chunks, and the
// rows' sum is the last read's when no chunk was parsed.
func (mr *memoRead) end(key uint64) uint64 {
	if mr.n != len(mr.m.chunks) {
		mr.parsed = true
	}
	mr.m.chunks = mr.m.chunks[:mr.n]
	if mr.parsed {
		mr.m.sum = sumRows(key, mr.b)
	}
	return mr.m.sum
}

// forget makes the memo's chunks unusable: its buffer was written by
// something else than a whole read of the table (a failed read, or
// sock_diag).
func (m *tableMemo) forget() { m.chunks = m.chunks[:0] }
