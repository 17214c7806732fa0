package sockets

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
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
	entry
	tab    *table
	sock   *sock
	ns     uint64
	server bool
}

// listener reports whether r accepts connections or datagrams from anyone:
// TCP LISTEN, or UDP bound (rows with local port 0 are never kept) and not
// connected.
func (r *row) listener() bool {
	if r.tab.udp {
		return r.state == stateClose
	}
	return r.state == stateListen
}

// keep reports whether row e of table tab is reported at all.
func keep(tab *table, e *entry) bool {
	if tab.udp {
		return e.local.Port() != 0 && (e.state == stateClose || e.state == stateEstablished)
	}
	return e.state == stateListen || e.state == stateEstablished
}

// readNetNS reads the four tables of one network namespace through the
// first owner of the chain from owners[head] through c.nsNext whose
// /proc/PID/net can be read, and appends the rows held by known owners to
// c.rows. A table that is missing (no IPv6 in the kernel) is skipped; other
// errors are logged once and the table is skipped.
func (c *Collector) readNetNS(ns uint64, head int, owners []Owner) {
	for i := head; i >= 0; i = c.nsNext[i] {
		pid := owners[i].PID
		start := len(c.rows)
		vanished := false
		for t := range tables {
			tab := &tables[t]
			data, err := c.readTable(pid, tab.name)
			if err != nil {
				if errors.Is(err, errVanished) {
					if c.pidExists(pid) {
						continue // the table does not exist, e.g. no IPv6
					}
					vanished = true
					break
				}
				c.warnTable(err)
				continue
			}
			c.entries, err = parseTable(c.entries[:0], data, tab.v6)
			if err != nil {
				c.warnTable(fmt.Errorf("parse %s/%d/net/%s: %w", c.root, pid, tab.name, err))
				continue
			}
			for k := range c.entries {
				e := &c.entries[k]
				if !keep(tab, e) {
					continue
				}
				if s := c.socks[e.inode]; s != nil {
					c.rows = append(c.rows, row{entry: *e, tab: tab, sock: s, ns: ns})
				}
			}
		}
		if !vanished {
			return
		}
		c.rows = c.rows[:start]
	}
}

// warnTable logs a table read or parse error once per Collector.
func (c *Collector) warnTable(err error) {
	if !c.warnedTable {
		c.warnedTable = true
		c.logger.Warn("cannot read socket table, its sockets are not reported", "error", err)
	}
}

// readTable reads ROOT/PID/net/NAME into c.buf, which it grows as needed.
func (c *Collector) readTable(pid int, name string) ([]byte, error) {
	c.path = append(c.path[:0], c.root...)
	c.path = append(c.path, '/')
	c.path = strconv.AppendInt(c.path, int64(pid), 10)
	c.path = append(c.path, "/net/"...)
	c.path = append(c.path, name...)
	c.path = append(c.path, 0)
	fd, err := openFile(c.path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, classify(fmt.Errorf("open %s: %w", c.path[:len(c.path)-1], err))
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(c.buf) {
			c.buf = append(c.buf, make([]byte, max(len(c.buf), 64<<10))...)
		}
		m, err := unix.Read(fd, c.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, classify(fmt.Errorf("read %s: %w", c.path[:len(c.path)-1], err))
		}
		if m == 0 {
			return c.buf[:n], nil
		}
		n += m
	}
}

// pidExists reports whether ROOT/PID still exists.
func (c *Collector) pidExists(pid int) bool {
	c.path = append(c.path[:0], c.root...)
	c.path = append(c.path, '/')
	c.path = strconv.AppendInt(c.path, int64(pid), 10)
	c.path = append(c.path, 0)
	fd, err := openFile(c.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// openFile opens the NUL-terminated path without copying it.
func openFile(path []byte, flags int) (int, error) {
	cwd := unix.AT_FDCWD
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(cwd),
			uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
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
