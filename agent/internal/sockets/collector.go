package sockets

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config configures a Collector. The zero value reads /proc and reports
// every socket at once.
type Config struct {
	// Root is the procfs mount (os-proc-root); "" means /proc.
	Root string
	// MinLifetime is os-proc-socket-min-lifetime: a socket is reported
	// once it was first seen at least this long ago. Not negative.
	MinLifetime time.Duration
}

// Owner is a process whose sockets are reported: the scan's view of a
// reported process.
type Owner struct {
	// PID is the process id under Root.
	PID int
	// StartTicks is the start time from /proc/PID/stat in clock ticks since
	// boot; with PID it is the process identity.
	StartTicks uint64
	// StartTime is StartTicks as a wall-clock time; it seeds the first-seen
	// time of sockets on the first Collect.
	StartTime time.Time
	// NetNS is the inode of /proc/PID/ns/net, 0 when unreadable.
	NetNS uint64
}

// Socket is one reported socket.
type Socket struct {
	// Proto is tcp, tcp6, udp or udp6: the table the socket is in.
	Proto string
	// Local and Remote are the socket's addresses; IPv4-mapped IPv6
	// addresses are given as IPv4. Remote is unspecified with port 0 for
	// a listener.
	Local, Remote netip.AddrPort
	// State is the kernel's state name: LISTEN or ESTABLISHED for TCP,
	// CLOSE (bound, unconnected) or ESTABLISHED for UDP.
	State string
	// Role is "server" or "client" (see the package documentation).
	Role string
	// Inode is the socket inode, unique on the host.
	Inode uint64
	// NetNS is the network namespace (Owner.NetNS) whose tables hold the
	// socket.
	NetNS uint64
	// PIDs are the owners holding the socket, ascending. The slice is
	// shared with other Sockets and later Collects: read it, never change it.
	PIDs []int
	// FirstSeen is when the socket was first seen (see the package
	// documentation for the first Collect).
	FirstSeen time.Time
}

// Role values.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// Collector collects the sockets of processes and keeps the caches that
// make a steady tick cheap: the socket inodes per process identity and the
// first-seen time per socket. Its methods are safe for concurrent use;
// Collects run one at a time.
type Collector struct {
	root        string
	minLifetime time.Duration
	logger      hclog.Logger

	mu        sync.Mutex
	gen       uint64
	collected bool // a Collect has succeeded: first-seen times are now
	owners    map[ownerKey]*ownerState
	socks     map[uint64]*sock
	walkers   []*fdWalker

	// Per-Collect scratch space, reused.
	jobs        []walkJob
	nsHead      map[uint64]int
	nsNext      []int
	rows        []row
	keys        []sortKey
	listeners   []int
	buf, path   []byte
	warnedWalk  bool
	warnedTable bool
}

// New returns a Collector for cfg. The logger is named "sockets".
func New(cfg Config, logger hclog.Logger) (*Collector, error) {
	if cfg.MinLifetime < 0 {
		return nil, fmt.Errorf("sockets: min lifetime %v is negative", cfg.MinLifetime)
	}
	if cfg.Root == "" {
		cfg.Root = "/proc"
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Collector{
		root:        cfg.Root,
		minLifetime: cfg.MinLifetime,
		logger:      logger.Named("sockets"),
		owners:      make(map[ownerKey]*ownerState),
		socks:       make(map[uint64]*sock),
		nsHead:      make(map[uint64]int),
	}, nil
}

// Collect returns the sockets held by owners at now, sorted by NetNS, Proto,
// Local, Remote and Inode (the snapshot order). It walks the fd/ of the
// owners it has not seen before, or of all of them when full is true, and
// forgets owners not passed. Vanished processes are skipped; unreadable
// files are logged once and skipped. The only error is ctx's.
func (c *Collector) Collect(ctx context.Context, now time.Time, owners []Owner, full bool) ([]Socket, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	first := !c.collected

	c.jobs = c.jobs[:0]
	clear(c.nsHead)
	c.nsNext = slices.Grow(c.nsNext[:0], len(owners))[:len(owners)]
	for i, o := range owners {
		k := ownerKey{pid: o.PID, start: o.StartTicks}
		st := c.owners[k]
		if st == nil {
			st = &ownerState{}
			c.owners[k] = st
			c.jobs = append(c.jobs, walkJob{key: k, st: st, new: true})
		} else if full && st.gen != c.gen {
			c.jobs = append(c.jobs, walkJob{key: k, st: st})
		}
		st.gen = c.gen
		if h, ok := c.nsHead[o.NetNS]; ok {
			c.nsNext[i] = c.nsNext[h]
			c.nsNext[h] = i
		} else {
			c.nsHead[o.NetNS] = i
			c.nsNext[i] = -1
		}
	}
	for k, st := range c.owners {
		if st.gen != c.gen {
			c.setInodes(k.pid, st.inodes, nil)
			delete(c.owners, k)
		}
	}
	if err := c.walkAll(ctx, c.jobs); err != nil {
		for _, j := range c.jobs {
			if j.new {
				delete(c.owners, j.key) // not walked: new again next time
			}
		}
		clear(c.jobs)
		return nil, err
	}
	c.applyWalks(c.jobs)
	clear(c.jobs) // drop references to owner states

	var starts map[int]time.Time
	if first {
		starts = make(map[int]time.Time, len(owners))
		for _, o := range owners {
			starts[o.PID] = o.StartTime
		}
	}
	c.rows = slices.Grow(c.rows[:0], len(c.socks)) // every row has a sock
	for ns, head := range c.nsHead {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := len(c.rows)
		c.readNetNS(ns, head, owners)
		c.roles(c.rows[start:])
	}
	c.keys = slices.Grow(c.keys[:0], len(c.rows))
	for i := range c.rows {
		r := &c.rows[i]
		s := r.sock
		switch {
		case s.gen == c.gen:
			continue // already reported through another namespace group
		case s.gen == 0 && first:
			s.first = oldest(s.pids, starts, now)
		case s.gen == 0 || s.first.After(now):
			// New, or the wall clock stepped back past its first sight.
			s.first = now
		}
		s.gen = c.gen
		if now.Sub(s.first) < c.minLifetime {
			continue
		}
		c.keys = append(c.keys, keyOf(r, i))
	}
	sortKeys(c.keys)
	out := make([]Socket, len(c.keys))
	for i, k := range c.keys {
		r := &c.rows[k.row]
		out[i] = Socket{
			Proto:     r.tab.name,
			Local:     r.local,
			Remote:    r.remote,
			State:     stateName(r.state),
			Role:      r.role(),
			Inode:     r.inode,
			NetNS:     r.ns,
			PIDs:      r.sock.pids,
			FirstSeen: r.sock.first,
		}
	}
	clear(c.rows) // drop references to sockets the next walk may forget
	c.collected = true
	return out, nil
}

// oldest returns the earliest start time of pids, or now when none is known.
func oldest(pids []int, starts map[int]time.Time, now time.Time) time.Time {
	t := now
	for _, p := range pids {
		if s, ok := starts[p]; ok && s.Before(t) {
			t = s
		}
	}
	return t
}
