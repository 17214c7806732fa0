package sockets

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/proctag/proctag/agent/internal/procid"
)

// sock is what the collector knows of a socket inode held by owners.
type sock struct {
	// pids are the holders, ascending. The slice is replaced, never
	// changed in place: Sockets handed out share it.
	pids []int
	// first is the first-seen time, set when gen is first set.
	first time.Time
	// gen is the last Collect that found the socket in a table with a
	// reportable state, 0 for never. Parts of a Collect claim the socket
	// by swapping it in.
	gen atomic.Uint64
	// joined is the last Collect whose join found the socket in a table, 0
	// for never: one that was in a table and is no more was lost by its
	// holders (see lostHolders).
	joined atomic.Uint64
	// one backs pids while the socket has its first holder, which saves an
	// allocation for most sockets.
	one [1]int
}

// sockChunk is how many socks newSock allocates at once: a cold Collect
// makes one per socket on the host.
const sockChunk = 1024

// newSock returns a new sock held by pid, from c.free.
func (c *Collector) newSock(pid int) *sock {
	if len(c.free) == 0 {
		c.free = make([]sock, sockChunk)
	}
	s := &c.free[0]
	c.free = c.free[1:]
	s.one[0] = pid
	s.pids = s.one[:]
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
}

// walkJob is one owner whose fd/ is to be walked in this Collect.
type walkJob struct {
	key    procid.Key
	st     *ownerState
	inodes []uint64
	err    error
	new    bool // the owner was not cached before this Collect
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
				c.setInodes(j.key.PID, j.st.inodes, nil)
				delete(c.owners, j.key)
				continue
			}
			denied++
			if firstErr == nil {
				firstErr = j.err
			}
			j.inodes = nil
		}
		c.setInodes(j.key.PID, j.st.inodes, j.inodes)
		j.st.inodes = j.inodes
	}
	if denied > 0 && !c.warnedWalk {
		c.warnedWalk = true
		c.logger.Warn("cannot read fd directories, their sockets are not reported",
			"count", denied, "error", firstErr)
	}
}

// setInodes changes the inodes held by pid from old to new (both sorted),
// touching only the inodes that differ.
func (c *Collector) setInodes(pid int, old, new []uint64) {
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i] < new[j]):
			c.removeHolder(old[i], pid)
			i++
		case i == len(old) || new[j] < old[i]:
			c.addHolder(new[j], pid)
			j++
		default:
			i++
			j++
		}
	}
}

// addHolder records pid as a holder of inode. Holder slices are never
// changed in place (copy on write), because Sockets handed out share them.
func (c *Collector) addHolder(inode uint64, pid int) {
	s := c.socks[inode]
	if s == nil {
		c.socks[inode] = c.newSock(pid)
		c.holderChanges++
		return
	}
	at, found := slices.BinarySearch(s.pids, pid)
	if found {
		return
	}
	c.holderChanges++
	n := make([]int, len(s.pids)+1)
	copy(n, s.pids[:at])
	n[at] = pid
	copy(n[at+1:], s.pids[at:])
	s.pids = n
}

// removeHolder forgets pid as a holder of inode, copy on write. A socket
// without holders is forgotten, with its first-seen time.
func (c *Collector) removeHolder(inode uint64, pid int) {
	s := c.socks[inode]
	if s == nil {
		return
	}
	at, found := slices.BinarySearch(s.pids, pid)
	if !found {
		return
	}
	c.holderChanges++
	if len(s.pids) == 1 {
		delete(c.socks, inode)
		return
	}
	n := make([]int, 0, len(s.pids)-1)
	n = append(n, s.pids[:at]...)
	s.pids = append(n, s.pids[at+1:]...)
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
// column). It walks again the candidates not walked since the socket
// appeared, at most maxRewalk owners in one Collect, in this order: those
// that lost a socket since their last walk (a connection pool that
// reconnects), then the least recently walked. A socket whose candidates
// were all walked since it appeared and that is still unowned (held by a
// process that is not reported) is settled and causes no walks again; one
// whose candidates the bound cut off is fresh again in the next Collect,
// which walks the next of them. It reports whether it walked anyone, so
// that the rows are joined again; it returns ctx.Err() when cancelled.
func (c *Collector) rewalk(ctx context.Context, owners []Owner) (bool, error) {
	unowned := 0
	for gi := range c.groups {
		for t := range c.groups[gi].parts {
			unowned += c.groups[gi].parts[t].unowned
		}
	}
	c.pending = 0
	if len(c.unowned) > 2*unowned+4096 {
		// Closed sockets pile up when no full Collect comes: forget them
		// all; the ones still there are fresh again next time.
		clear(c.unowned)
		return false, nil
	}
	rw := rewalkPlan{c: c, owners: owners}
	c.jobs = c.jobs[:0]
	for gi := range c.groups {
		g := &c.groups[gi]
		var listeners map[uint32][]int
		byUID := rw.byUID[:0]
		for t := range g.parts {
			for _, f := range g.parts[t].fresh {
				if listeners == nil {
					listeners = c.listenerHolders(g)
				}
				key := listenKey(f.udp, f.e.local.Port())
				if pids := listeners[key]; len(pids) > 0 && !isListener(f.udp, f.e) {
					rw.cands = rw.cands[:0]
					for _, pid := range pids {
						if i, ok := rw.owner(pid); ok { // holders are owners; be sure
							rw.cands = append(rw.cands, i)
						}
					}
					rw.settle(rw.walk(f.since), []fresh{f})
					continue
				}
				byUID = append(byUID, f)
			}
		}
		// The sockets of one uid share their candidates: choose once.
		all := byUID
		slices.SortFunc(byUID, func(a, b fresh) int { return cmp.Compare(a.e.uid, b.e.uid) })
		for len(byUID) > 0 {
			uid := byUID[0].e.uid
			n := 1
			for n < len(byUID) && byUID[n].e.uid == uid {
				n++
			}
			rw.cands = rw.cands[:0]
			since := uint64(0)
			for _, f := range byUID[:n] {
				since = max(since, f.since)
			}
			for i := g.head; i >= 0; i = c.nsNext[i] {
				if owners[i].UID == int(uid) {
					rw.cands = append(rw.cands, i)
				}
			}
			rw.settle(rw.walk(since), byUID[:n])
			byUID = byUID[n:]
		}
		rw.byUID = all[:0]
	}
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

// rewalkPlan is the state of one rewalk's choice of owners.
type rewalkPlan struct {
	c      *Collector
	owners []Owner
	byPID  map[int]int      // owners' indexes by pid, made when needed
	lost   map[int]struct{} // lostHolders, made when needed
	cands  []int            // the candidates of the sockets at hand
	byUID  []fresh
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

// walk queues walks of the candidates rw.cands not walked since Collect
// since, those that lost a socket first, then the least recently walked,
// as far as the bound allows, and returns the earliest Collect that walked
// one of those candidates last (c.gen when there are none, or all were
// walked in this Collect).
func (rw *rewalkPlan) walk(since uint64) uint64 {
	c := rw.c
	state := func(i int) *ownerState { return c.owners[rw.owners[i].Key] }
	rw.cands = slices.DeleteFunc(rw.cands, func(i int) bool {
		st := state(i)
		return st == nil || st.walked >= since
	})
	if len(rw.cands) > maxRewalk-len(c.jobs) {
		if rw.lost == nil {
			rw.lost = c.lostHolders()
		}
		slices.SortFunc(rw.cands, func(a, b int) int {
			_, la := rw.lost[rw.owners[a].PID]
			_, lb := rw.lost[rw.owners[b].PID]
			if la != lb {
				if la {
					return -1
				}
				return 1
			}
			return cmp.Compare(state(a).walked, state(b).walked)
		})
	}
	for _, i := range rw.cands {
		c.queueRewalk(&rw.owners[i])
	}
	oldest := c.gen
	for _, i := range rw.cands {
		oldest = min(oldest, state(i).walked)
	}
	return oldest
}

// settle records the sockets fs, whose candidates were all walked in or
// after Collect oldest: one that appeared then or before is settled (its
// holder, if any, is not reported), the others stay fresh.
func (rw *rewalkPlan) settle(oldest uint64, fs []fresh) {
	for _, f := range fs {
		if f.since <= oldest {
			rw.c.unowned[f.e.inode] = settled
		} else {
			rw.c.unowned[f.e.inode] = f.since
			rw.c.pending++
		}
	}
}

// settled marks in Collector.unowned a socket that no owner walked since it
// appeared holds.
const settled = 0

// lostHolders returns the pids holding a socket that an earlier join found
// in a table and this Collect's did not: closed since their last walk.
// Sockets never found in a table (unix sockets, say) do not count.
func (c *Collector) lostHolders() map[int]struct{} {
	lost := make(map[int]struct{})
	for _, s := range c.socks {
		if j := s.joined.Load(); j != 0 && j != c.gen {
			for _, pid := range s.pids {
				lost[pid] = struct{}{}
			}
		}
	}
	return lost
}

// listenKey keys a listener by transport and local port.
func listenKey(udp bool, port uint16) uint32 {
	k := uint32(port) << 1
	if udp {
		k |= 1
	}
	return k
}

// listenerHolders maps the listeners of g that known owners hold to their
// pids, by transport and local port.
func (c *Collector) listenerHolders(g *nsGroup) map[uint32][]int {
	m := make(map[uint32][]int)
	for t := range tables {
		udp, es := tables[t].udp, g.tabs[t].entries
		for k := range es {
			if !isListener(udp, &es[k]) {
				continue
			}
			if s := c.socks[es[k].inode]; s != nil {
				key := listenKey(udp, es[k].local.Port())
				m[key] = append(m[key], s.pids...)
			}
		}
	}
	return m
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
