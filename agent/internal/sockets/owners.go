package sockets

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync/atomic"

	"github.com/proctag/proctag/agent/internal/procid"
)

// sock is what the collector knows of a socket inode held by owners, in
// 24 bytes: a host has one per socket.
type sock struct {
	// pids points to the holders, ascending; nil once the last holder let
	// go. The slice is replaced, never changed in place: Sockets handed
	// out share it. A socket with one holder points to its owner's own
	// one-pid slice (ownerState.self), which saves an allocation for most
	// sockets.
	pids *[]int
	// first is the first-seen time as nanoseconds after Collector.base
	// (see sinceBase), set when gen is first set.
	first int64
	// gen is the last Collect that found the socket in a table with a
	// reportable state, 0 for never. Parts of a Collect claim the socket
	// by swapping it in. Both generations are the Collect's low 32 bits
	// (see gen32).
	gen atomic.Uint32
	// joined is the last Collect whose join found the socket in a table, 0
	// for never or since its holders changed: one that was in a table and
	// is no more was lost by its holders (see lostSocket), one that is
	// now and was not in the last report's join makes its part report
	// anew (see markJoined, which alone writes it during a Collect).
	joined uint32
}

// holders returns the pids holding s, ascending: shared, never to be
// changed.
func (s *sock) holders() []int {
	if s.pids == nil {
		return nil
	}
	return *s.pids
}

// gen32 is the generation of this Collect as a sock keeps it: the low 32
// bits of c.gen (Collect skips the generations that would make it 0,
// which is "never").
func (c *Collector) gen32() uint32 { return uint32(c.gen) }

// sockChunk is how many socks newSock allocates at once: a cold Collect
// makes one per socket on the host.
const sockChunk = 1024

// newSock returns a new sock held by the owner st alone, from c.free.
func (c *Collector) newSock(st *ownerState) *sock {
	if len(c.free) == 0 {
		c.free = make([]sock, sockChunk)
	}
	s := &c.free[0]
	c.free = c.free[1:]
	s.pids = &st.self
	return s
}

// ownerState is what the collector remembers of an owner between Collects.
type ownerState struct {
	// inodes are the socket inodes found in the owner's fd/, sorted.
	inodes []uint64
	// gen is the last Collect that was passed this owner, walked the
	// last that walked its fd/.
	gen, walked uint64
	// tab is the inode of the owner's net/tcp, 0 when unknown, kept for
	// an owner whose ns/net is unreadable (see placeHidden); tabAt is the
	// last Collect that stat'ed it.
	tab, tabAt uint64
	// self is the owner's pid alone, the holders of the sockets it alone
	// holds: set once, when it first holds a socket, and never changed.
	self []int
}

// walkJob is one owner whose fd/ is to be walked in this Collect.
type walkJob struct {
	key    procid.Key
	st     *ownerState
	inodes []uint64
	err    error
	new    bool // the owner was not cached before this Collect
	// dumped is set when inodes come from an FDs dump (dumpWalks).
	dumped bool
}

// applyWalks stores the walk results in the owner cache and updates the
// inode holders. A vanished owner is dropped from the cache (it is walked
// again if it is passed again); an owner whose fd/ is unreadable is cached
// with no sockets and retried on the next full Collect.
func (c *Collector) applyWalks(jobs []walkJob) {
	if len(c.socks) == 0 {
		n := 0
		for i := range jobs {
			n += len(jobs[i].inodes)
		}
		c.socks = make(map[uint64]*sock, n)
	}
	denied := 0
	var firstErr error
	for i := range jobs {
		j := &jobs[i]
		if j.err != nil {
			if errors.Is(j.err, errVanished) {
				c.setInodes(j.st, j.key.PID, j.st.inodes, nil)
				delete(c.owners, j.key)
				continue
			}
			denied++
			if firstErr == nil {
				firstErr = j.err
			}
			j.inodes = nil
		}
		c.setInodes(j.st, j.key.PID, j.st.inodes, j.inodes)
		j.st.inodes = j.inodes
	}
	if denied > 0 && !c.warnedWalk {
		c.warnedWalk = true
		c.logger.Warn("cannot read fd directories, their sockets are not reported",
			"count", denied, "error", firstErr)
	}
}

// setInodes changes the inodes held by pid, whose state is st, from old to
// new (both sorted), touching only the inodes that differ.
func (c *Collector) setInodes(st *ownerState, pid int, old, new []uint64) {
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i] < new[j]):
			c.removeHolder(old[i], pid)
			i++
		case i == len(old) || new[j] < old[i]:
			c.addHolder(new[j], st, pid)
			j++
		default:
			i++
			j++
		}
	}
}

// addHolder records pid, whose state is st, as a holder of inode. Holder
// slices are never changed in place (copy on write), because Sockets
// handed out share them.
func (c *Collector) addHolder(inode uint64, st *ownerState, pid int) {
	s := c.socks[inode]
	if s == nil {
		if st.self == nil {
			st.self = []int{pid}
		}
		c.socks[inode] = c.newSock(st)
		c.holderChanges++
		c.created++
		return
	}
	pids := *s.pids
	at, found := slices.BinarySearch(pids, pid)
	if found {
		return
	}
	c.holderChanges++
	s.joined = 0 // its part of the last report no longer stands
	n := make([]int, len(pids)+1)
	copy(n, pids[:at])
	n[at] = pid
	copy(n[at+1:], pids[at:])
	s.pids = &n
}

// removeHolder forgets pid as a holder of inode, copy on write. A socket
// without holders is forgotten, with its first-seen time.
func (c *Collector) removeHolder(inode uint64, pid int) {
	s := c.socks[inode]
	if s == nil {
		return
	}
	pids := *s.pids
	at, found := slices.BinarySearch(pids, pid)
	if !found {
		return
	}
	c.holderChanges++
	if len(pids) == 1 {
		delete(c.socks, inode)
		s.pids = nil // for a row of this Collect's join that holds it (see rejoin)
		c.deleted++
		return
	}
	s.joined = 0 // its part of the last report no longer stands
	n := make([]int, 0, len(pids)-1)
	n = append(n, pids[:at]...)
	n = append(n, pids[at+1:]...)
	s.pids = &n
}

// maxRewalk bounds the known owners walked again in one Collect for sockets
// that no known owner holds; the rest wait for the next Collects.
const maxRewalk = 256

// fresh is a table row whose socket no known owner holds and that is not
// settled as held by no owner (see Collector.unowned); since is the
// Collect that first saw it so.
type fresh struct {
	e     *entry
	udp   bool
	since uint64
}

// rewalk takes the sockets that the join found in the tables without a
// known holder and that are not settled (the parts' fresh rows): one
// opened or accepted by an owner walked before, which a steady Collect
// would otherwise miss until the next full one. For each, the candidates
// are the owners most likely to hold it: those holding a listener of the
// same transport on its local port (an accepted connection), else the
// owners of its namespace whose uid is the socket's (sock_i_uid, the uid
// column). It walks again the candidates not walked since their socket
// appeared, at most maxRewalk owners in one Collect, in this order over
// all sockets: those that lost a socket since their last walk (a
// connection pool that reconnects), then the least recently walked. A
// socket whose candidates were all walked since it appeared and that is
// still unowned (held by a process that is not reported) is settled and
// causes no walks again; one whose candidates the bound cut off is fresh
// again in the next Collect, which walks the next of them. It reports
// whether it walked anyone, so that the rows are joined again; it returns
// ctx.Err() when cancelled.
func (c *Collector) rewalk(ctx context.Context, owners []Owner) (bool, error) {
	unowned := 0
	for gi := range c.groups {
		for t := range c.groups[gi].parts {
			unowned += c.groups[gi].parts[t].unowned
		}
	}
	if len(c.unowned) > 2*unowned+4096 {
		// Closed sockets pile up when no full Collect comes: forget them
		// all; the ones still there are fresh again next time.
		clear(c.unowned)
		c.pending = c.freshRows()
		return false, nil
	}
	c.pending = 0 // unless walks are queued: then the Collect counts them
	rw := &c.rewalks
	rw.begin(c, owners)
	defer rw.end()
	for gi := range c.groups {
		rw.group(&c.groups[gi])
	}
	rw.queue()
	rw.settle()
	if len(c.jobs) == 0 {
		return false, nil
	}
	c.parallel(len(c.jobs), func(r *reader, i int) bool {
		if ctx.Err() != nil {
			return false
		}
		c.walkJob(r, &c.jobs[i])
		return true
	})
	if err := ctx.Err(); err != nil {
		clear(c.jobs)
		return false, err
	}
	c.applyWalks(c.jobs)
	clear(c.jobs)
	return true, nil
}

// rewalkPlan is one rewalk's choice of owners; the Collector keeps its
// buffers between Collects.
type rewalkPlan struct {
	c      *Collector
	owners []Owner
	byPID  map[int]int // owners' indexes by pid, made when needed
	// sets are the groups of fresh sockets that share their candidates:
	// their rows in fresh[from:to], the indexes of the candidates not
	// walked since the latest of them appeared in cands[cfrom:cto].
	sets   []candSet
	fresh  []fresh
	cands  []int
	byUID  []fresh
	ranked []rankedOwner
	// listeners are the listener sets of the groups (fillListeners);
	// fills counts the groups filled, begun the fills before this
	// rewalk.
	listeners    map[uint32]*listenerSet
	fills, begun uint64
}

// candSet is a group of fresh sockets with the same candidate owners.
type candSet struct{ from, to, cfrom, cto int }

// rankedOwner is a candidate owner in the order of its walk: rank is 0
// when it lost a socket since its last walk, else 1, over the Collect that
// walked it last.
type rankedOwner struct {
	rank [2]uint64
	i    int
}

// begin readies rw for a rewalk of owners by c.
func (rw *rewalkPlan) begin(c *Collector, owners []Owner) {
	rw.c, rw.owners, rw.byPID = c, owners, nil
	rw.sets, rw.fresh, rw.cands, rw.ranked = rw.sets[:0], rw.fresh[:0], rw.cands[:0], rw.ranked[:0]
	rw.begun = rw.fills
	c.jobs = c.jobs[:0]
}

// end drops rw's references to the Collect's rows and owners.
func (rw *rewalkPlan) end() {
	rw.pruneListeners(rw.begun)
	clear(rw.fresh)
	rw.c, rw.owners, rw.byPID = nil, nil, nil
}

// state returns the cached state of owner i, nil when there is none.
func (rw *rewalkPlan) state(i int) *ownerState { return rw.c.owners[rw.owners[i].Key] }

// group adds the fresh sockets of g with their candidates: an accepted
// connection's are the holders of its listener, one set per socket; the
// others' the owners of g with its uid, one set per uid.
func (rw *rewalkPlan) group(g *nsGroup) {
	c := rw.c
	filled := false
	byUID := rw.byUID[:0]
	for t := range g.parts {
		for _, f := range g.parts[t].fresh {
			if !filled {
				rw.fillListeners(g)
				filled = true
			}
			if pids := rw.listenerPIDs(listenKey(f.udp, f.e.lport)); len(pids) > 0 && !isListener(f.udp, f.e) {
				from, cfrom := len(rw.fresh), len(rw.cands)
				rw.fresh = append(rw.fresh, f)
				for _, pid := range pids {
					if i, ok := rw.owner(pid); ok { // holders are owners; be sure
						rw.cands = append(rw.cands, i)
					}
				}
				rw.addSet(from, cfrom)
				continue
			}
			byUID = append(byUID, f)
		}
	}
	slices.SortFunc(byUID, func(a, b fresh) int { return cmp.Compare(a.e.uid, b.e.uid) })
	for rest := byUID; len(rest) > 0; {
		uid := rest[0].e.uid
		n := 1
		for n < len(rest) && rest[n].e.uid == uid {
			n++
		}
		from, cfrom := len(rw.fresh), len(rw.cands)
		rw.fresh = append(rw.fresh, rest[:n]...)
		for i := g.head; i >= 0; i = c.nsNext[i] {
			if rw.owners[i].UID == int(uid) {
				rw.cands = append(rw.cands, i)
			}
		}
		rw.addSet(from, cfrom)
		rest = rest[n:]
	}
	clear(byUID)
	rw.byUID = byUID[:0]
}

// owner returns the index of the owner with pid.
func (rw *rewalkPlan) owner(pid int) (int, bool) {
	if rw.byPID == nil {
		rw.byPID = make(map[int]int, len(rw.owners))
		for i, o := range rw.owners {
			rw.byPID[o.PID] = i
		}
	}
	i, ok := rw.byPID[pid]
	return i, ok
}

// addSet closes the set of the sockets fresh[from:] and the candidates
// cands[cfrom:], of which it keeps those with a cached state that were not
// walked since the latest of the sockets appeared.
func (rw *rewalkPlan) addSet(from, cfrom int) {
	since := uint64(0)
	for _, f := range rw.fresh[from:] {
		since = max(since, f.since)
	}
	kept := slices.DeleteFunc(rw.cands[cfrom:], func(i int) bool {
		st := rw.state(i)
		return st == nil || st.walked >= since
	})
	rw.cands = rw.cands[:cfrom+len(kept)]
	rw.sets = append(rw.sets, candSet{from: from, to: len(rw.fresh), cfrom: cfrom, cto: len(rw.cands)})
}

// queue queues walks of the candidates of all sets, as far as the bound
// allows: when they are more, those that lost a socket since their last
// walk first, then the least recently walked.
func (rw *rewalkPlan) queue() {
	c := rw.c
	if len(rw.cands) <= maxRewalk { // begin emptied c.jobs
		for _, i := range rw.cands {
			c.queueRewalk(&rw.owners[i])
		}
		return
	}
	for _, i := range rw.cands {
		st := rw.state(i)
		r := rankedOwner{rank: [2]uint64{1, st.walked}, i: i}
		if c.lostSocket(st) {
			r.rank[0] = 0
		}
		rw.ranked = append(rw.ranked, r)
	}
	slices.SortFunc(rw.ranked, func(a, b rankedOwner) int {
		return cmp.Or(cmp.Compare(a.rank[0], b.rank[0]), cmp.Compare(a.rank[1], b.rank[1]), cmp.Compare(a.i, b.i))
	})
	for _, r := range rw.ranked {
		if len(c.jobs) >= maxRewalk {
			break
		}
		c.queueRewalk(&rw.owners[r.i])
	}
}

// settle records each set's sockets once the walks are queued: one whose
// candidates were all walked in or after the Collect it appeared in is
// settled (its holder, if any, is not reported), the others stay fresh.
func (rw *rewalkPlan) settle() {
	c := rw.c
	for _, set := range rw.sets {
		oldest := c.gen
		for _, i := range rw.cands[set.cfrom:set.cto] {
			oldest = min(oldest, rw.state(i).walked)
		}
		for _, f := range rw.fresh[set.from:set.to] {
			if f.since <= oldest {
				c.unowned[uint64(f.e.inode)] = settled
			} else {
				c.unowned[uint64(f.e.inode)] = f.since
			}
		}
	}
}

// settled marks in Collector.unowned a socket that no owner walked since it
// appeared holds.
const settled = 0

// lostSocket reports whether the owner whose state is st holds a socket
// (as of its last walk) that an earlier join found in a table and this
// Collect's did not: one it closed since. Sockets never found in a table
// (unix sockets, say) do not count.
func (c *Collector) lostSocket(st *ownerState) bool {
	gen := c.gen32()
	for _, inode := range st.inodes {
		if s := c.socks[inode]; s != nil && s.joined != 0 && s.joined != gen {
			return true
		}
	}
	return false
}

// listenKey keys a listener by transport and local port.
func listenKey(udp bool, port uint16) uint32 {
	k := uint32(port) << 1
	if udp {
		k |= 1
	}
	return k
}

// listenerSet is the pids that hold the listeners of one transport and
// local port in the group that fill names.
type listenerSet struct {
	pids []int
	fill uint64
}

// fillListeners maps the listeners of g that known owners hold to their
// pids, by transport and local port (see listenerPIDs). The sets and their
// pid slices are kept from one group and one Collect to the next, so that
// a host whose connections churn does not make them anew on every tick.
func (rw *rewalkPlan) fillListeners(g *nsGroup) {
	c := rw.c
	if rw.listeners == nil {
		rw.listeners = make(map[uint32]*listenerSet)
	}
	rw.fills++
	for t := range tables {
		udp, es := tables[t].udp, g.tabs[t].entries
		for k := range es {
			if !isListener(udp, &es[k]) {
				continue
			}
			s := c.socks[uint64(es[k].inode)]
			if s == nil {
				continue
			}
			key := listenKey(udp, es[k].lport)
			ls := rw.listeners[key]
			if ls == nil {
				ls = new(listenerSet)
				rw.listeners[key] = ls
			}
			if ls.fill != rw.fills {
				ls.pids, ls.fill = ls.pids[:0], rw.fills
			}
			ls.pids = append(ls.pids, s.holders()...)
		}
	}
}

// listenerPIDs returns the pids that hold the listeners of key in the
// group last filled.
func (rw *rewalkPlan) listenerPIDs(key uint32) []int {
	if ls := rw.listeners[key]; ls != nil && ls.fill == rw.fills {
		return ls.pids
	}
	return nil
}

// pruneListeners forgets the listener sets that no group filled since
// fill number begun, when one was: listeners gone or moved.
func (rw *rewalkPlan) pruneListeners(begun uint64) {
	if rw.fills == begun {
		return
	}
	for k, ls := range rw.listeners {
		if ls.fill <= begun {
			delete(rw.listeners, k)
		}
	}
}

// queueRewalk adds a walk job for o unless it was walked in this Collect
// or the bound is reached.
func (c *Collector) queueRewalk(o *Owner) {
	k := o.Key
	st := c.owners[k]
	if st == nil || st.walked == c.gen || len(c.jobs) >= maxRewalk {
		return
	}
	st.walked = c.gen
	c.jobs = append(c.jobs, walkJob{key: k, st: st})
}
