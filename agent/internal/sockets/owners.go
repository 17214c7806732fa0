package sockets

import (
	"errors"
	"slices"
	"sync/atomic"
	"time"
)

// ownerKey is a process identity: the kernel reuses pids, never the pair.
type ownerKey struct {
	pid   int
	start uint64
}

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
	// gen is the last Collect that was passed this owner.
	gen uint64
}

// walkJob is one owner whose fd/ is to be walked in this Collect.
type walkJob struct {
	key    ownerKey
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
				c.setInodes(j.key.pid, j.st.inodes, nil)
				delete(c.owners, j.key)
				continue
			}
			denied++
			if firstErr == nil {
				firstErr = j.err
			}
			j.inodes = nil
		}
		c.setInodes(j.key.pid, j.st.inodes, j.inodes)
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
		return
	}
	at, found := slices.BinarySearch(s.pids, pid)
	if found {
		return
	}
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
	if len(s.pids) == 1 {
		delete(c.socks, inode)
		return
	}
	n := make([]int, 0, len(s.pids)-1)
	n = append(n, s.pids[:at]...)
	s.pids = append(n, s.pids[at+1:]...)
}
