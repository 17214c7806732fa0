package sockets

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/ifaddrs"
	"github.com/proctag/proctag/agent/internal/osthread"
	"github.com/proctag/proctag/agent/internal/sockdiag"
)

// nsDiag is the sock_diag source of one network namespace: a Conn opened
// in it on first use and kept for its later dumps.
type nsDiag struct {
	// mu serialises the namespace's dumps: a Conn serves one goroutine
	// at a time, and the four tables of a group are read concurrently.
	mu   sync.Mutex
	conn *sockdiag.Conn
	// route reads the namespace's interface addresses (Addresses); it is
	// opened with conn and may be nil when that failed.
	route *ifaddrs.Conn
	// off is set by an open or dump error: the namespace's tables are
	// read from /proc/PID/net until the next full Collect.
	off bool
	// gen is the last Collect that had owners in the namespace.
	gen uint64
}

// close closes the Conns, if open.
func (d *nsDiag) close() {
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
	if d.route != nil {
		d.route.Close()
		d.route = nil
	}
}

// selfNetNS returns the inode of the agent's own network namespace, 0 when
// unknown.
func selfNetNS() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) != nil {
		return 0
	}
	return st.Ino
}

// planDiag gives every group of a known namespace its sock_diag source,
// made on the namespace's first Collect, and lets the sources that failed
// try again on a full Collect. It runs before the tables are read, so that
// the readers only read c.diags.
func (c *Collector) planDiag(full bool) {
	if !c.diagOn {
		return
	}
	for i := range c.groups {
		g := &c.groups[i]
		if g.ns == 0 {
			continue
		}
		d := c.diags[g.ns]
		if d == nil {
			d = &nsDiag{}
			c.diags[g.ns] = d
		}
		if full {
			d.off = false
		}
		d.gen = c.gen
		g.diag = d
	}
}

// closeUnusedDiag closes the Conns of the namespaces that had no owner in
// this Collect: a netlink socket keeps its namespace alive.
func (c *Collector) closeUnusedDiag() {
	for ns, d := range c.diags {
		if d.gen != c.gen {
			d.close()
			delete(c.diags, ns)
		}
	}
}

// Close closes the netlink sockets the Collector keeps open (sock_diag and
// rtnetlink). Later calls open them again.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ns, d := range c.diags {
		d.mu.Lock()
		d.close()
		d.mu.Unlock()
		delete(c.diags, ns)
	}
	if c.addrs.self != nil {
		c.addrs.self.Close()
		c.addrs.self = nil
	}
	return nil
}

// readDiag reads table t of group g over sock_diag, opening the group's
// Conn through its first owner whose ns/net can be opened when it has
// none. It returns false when the table is to be read from /proc/PID/net
// instead: the source is off, or the open or the dump failed just now
// (then it closes the Conn and turns the source off until the next full
// Collect).
func (c *Collector) readDiag(r *reader, g *nsGroup, t int, owners []Owner) bool {
	d := g.diag
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.off {
		return false
	}
	if d.conn == nil {
		conn, route, pid, err := c.openDiag(r, g, owners)
		if err != nil {
			d.off = true
			c.diagFailed(g.ns, pid, "open", err)
			return false
		}
		d.conn, d.route = conn, route
	}
	tr := &g.tabs[t]
	v6 := tables[t].v6
	if err := diagTable(d.conn, t, func(r *parsedRow) { tr.add(r, v6, 0) }); err != nil {
		tr.truncate(0) // read again from /proc/PID/net
		d.close()
		d.off = true
		c.diagFailed(g.ns, 0, "dump", err)
		return false
	}
	c.diagReads.Add(1)
	if t == 0 && len(c.hidden) > 0 {
		// placeHidden matches owners whose ns/net is unreadable by the
		// inode of their net/tcp.
		for i := g.head; i >= 0; i = c.nsNext[i] {
			if ino, err := r.tcpInode(owners[i].PID); err == nil {
				g.tab = ino
				break
			}
		}
	}
	return true
}

// errNoNetNS is the reason of an open when no owner's ns/net was that of
// the group.
var errNoNetNS = errors.New("no owner's ns/net is the namespace any more")

// openDiag opens a Conn in g's namespace, and an ifaddrs.Conn when it
// can: in the calling thread's namespace when it is the agent's own, else
// through ROOT/PID/ns/net of the first owner of g whose ns/net opens and
// still is g's namespace (a pid may have been reused). It returns the pid
// it went through, 0 for the agent's own.
func (c *Collector) openDiag(r *reader, g *nsGroup, owners []Owner) (*sockdiag.Conn, *ifaddrs.Conn, int, error) {
	var conn *sockdiag.Conn
	var route *ifaddrs.Conn
	open := func() (err error) {
		if conn, err = sockdiag.Open(); err != nil {
			return err
		}
		route, _ = ifaddrs.Open() // addresses are not needed for the tables
		return nil
	}
	if g.ns == c.selfNS {
		err := open()
		return conn, route, 0, err
	}
	var last error = errNoNetNS
	for i := g.head; i >= 0; i = c.nsNext[i] {
		pid := owners[i].PID
		r.setPath(pid, "ns/net")
		fd, err := openFile(r.path, unix.O_RDONLY|unix.O_CLOEXEC)
		if err != nil {
			last = fmt.Errorf("open %s: %w", r.name(), err)
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Ino != g.ns {
			unix.Close(fd)
			continue
		}
		err = osthread.InNetNS(fd, open)
		unix.Close(fd)
		if err != nil {
			if conn != nil {
				conn.Close()
			}
			if route != nil {
				route.Close()
			}
			return nil, nil, pid, err
		}
		return conn, route, pid, nil
	}
	return nil, nil, 0, last
}

// diagFailed logs a failed open or dump of namespace ns: the first one of
// the Collector as a warning, later ones at debug level.
func (c *Collector) diagFailed(ns uint64, pid int, what string, err error) {
	args := []any{"netns", ns, "error", err}
	if pid != 0 {
		args = append(args, "through_pid", strconv.Itoa(pid))
	}
	msg := "sock_diag " + what + " failed, reading /proc/PID/net for this namespace until the next full tick"
	if c.warnedDiag.CompareAndSwap(false, true) {
		c.logger.Warn(msg, args...)
		return
	}
	c.logger.Debug(msg, args...)
}

// TableReads returns how many socket tables the Collector has read since
// New, over sock_diag and from /proc/PID/net text (four per namespace and
// Collect in all).
func (c *Collector) TableReads() (sockDiag, procNet uint64) {
	return c.diagReads.Load(), c.tableReads.Load()
}
