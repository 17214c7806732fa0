package sockets

import (
	"bytes"
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
			before := len(c.rows)
			err := c.readTable(pid, tab, func(e entry) {
				if !keep(tab, &e) {
					return
				}
				if s := c.socks[e.inode]; s != nil {
					c.rows = append(c.rows, row{entry: e, tab: tab, sock: s, ns: ns})
				}
			})
			if err != nil {
				c.rows = c.rows[:before]
				if errors.Is(err, errVanished) {
					if c.pidExists(pid) {
						continue // the table does not exist, e.g. no IPv6
					}
					vanished = true
					break
				}
				c.warnTable(err)
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

// readTable reads ROOT/PID/net/NAME of tab in chunks through c.buf and
// calls fn for each row (see parseLines), so that a table of any size needs
// only a buffer of its longest line. A read or parse error names the file.
func (c *Collector) readTable(pid int, tab *table, fn func(e entry)) error {
	c.path = append(c.path[:0], c.root...)
	c.path = append(c.path, '/')
	c.path = strconv.AppendInt(c.path, int64(pid), 10)
	c.path = append(c.path, "/net/"...)
	c.path = append(c.path, tab.name...)
	c.path = append(c.path, 0)
	name := func() []byte { return c.path[:len(c.path)-1] }
	fd, err := openFile(c.path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return classify(fmt.Errorf("open %s: %w", name(), err))
	}
	defer unix.Close(fd)
	if len(c.buf) == 0 {
		c.buf = make([]byte, 64<<10)
	}
	n, line := 0, 0
	for {
		m, err := unix.Read(fd, c.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return classify(fmt.Errorf("read %s: %w", name(), err))
		}
		n += m
		end := n // at the end of the file, the rest is the last line
		if m > 0 {
			end = bytes.LastIndexByte(c.buf[:n], '\n') + 1
			if end == 0 {
				if n == len(c.buf) { // a line longer than the buffer
					c.buf = append(c.buf, make([]byte, len(c.buf))...)
				}
				continue
			}
		}
		if line, err = parseLines(c.buf[:end], tab.v6, line, fn); err != nil {
			return fmt.Errorf("parse %s: %w", name(), err)
		}
		if m == 0 {
			return nil
		}
		n = copy(c.buf, c.buf[end:n])
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
