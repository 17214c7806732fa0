package sockets

import (
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
// that no known owner holds; the rest wait for the next full Collect.
const maxRewalk = 256

// fresh is a table row whose socket no known owner holds and that earlier
// Collects did not see unowned either.
type fresh struct {
	e   *entry
	udp bool
}

// rewalk takes the sockets that the join found in the tables without a
// known holder and that earlier Collects did not see unowned either (the
// parts' fresh rows): one opened or accepted by an owner walked before,
// which a steady Collect would otherwise miss until the next full one. For
// each, it walks again the owners most likely to hold it: those holding a
// listener of the same transport on its local port (an accepted
// connection), else the owners of its namespace whose uid is the socket's
// (sock_i_uid, the uid column), at most maxRewalk owners and none walked
// in this Collect already. A socket still unowned afterwards (held by a
// process that is not reported) is remembered and does not cause walks
// again. It reports whether it walked anyone, so that the rows are joined
// again; it returns ctx.Err() when cancelled.
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
		return false, nil
	}
	var byPID map[int]int
	c.jobs = c.jobs[:0]
	for gi := range c.groups {
		g := &c.groups[gi]
		var listeners map[uint32][]int
		for t := range g.parts {
			for _, f := range g.parts[t].fresh {
				c.unowned[f.e.inode] = struct{}{}
				if len(c.jobs) >= maxRewalk {
					continue
				}
				if byPID == nil {
					byPID = make(map[int]int, len(owners))
					for i, o := range owners {
						byPID[o.PID] = i
					}
				}
				if listeners == nil {
					listeners = c.listenerHolders(g)
				}
				key := listenKey(f.udp, f.e.local.Port())
				if pids := listeners[key]; len(pids) > 0 && !isListener(f.udp, f.e) {
					for _, pid := range pids {
						if i, ok := byPID[pid]; ok { // holders are owners; be sure
							c.queueRewalk(&owners[i])
						}
					}
					continue
				}
				for i := g.head; i >= 0; i = c.nsNext[i] {
					if owners[i].UID == int(f.e.uid) {
						c.queueRewalk(&owners[i])
					}
				}
			}
		}
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

// queueRewalk adds a walk job for o unless it was walked in this Collect.
func (c *Collector) queueRewalk(o *Owner) {
	k := o.Key
	st := c.owners[k]
	if st == nil || st.walked == c.gen || len(c.jobs) >= maxRewalk {
		return
	}
	st.walked = c.gen
	c.jobs = append(c.jobs, walkJob{key: k, st: st})
}
