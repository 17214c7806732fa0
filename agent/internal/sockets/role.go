package sockets

import (
	"cmp"
	"slices"
)

// roles decides the role of every row of one network namespace (rows): a
// listener is a server; any other socket is a server when a listener of the
// same transport, on its local port, covering its local address, shares an
// owner with it; else a client. Listeners are sorted by (transport, port)
// in a reused slice, so deciding costs a binary search per socket.
func (c *Collector) roles(rows []row) {
	c.listeners = c.listeners[:0]
	for i := range rows {
		if rows[i].listener() {
			rows[i].server = true
			c.listeners = append(c.listeners, i)
		}
	}
	if len(c.listeners) == 0 {
		return
	}
	slices.SortFunc(c.listeners, func(a, b int) int {
		return compareListen(&rows[a], rows[b].tab.udp, rows[b].local.Port())
	})
	for i := range rows {
		r := &rows[i]
		if r.server {
			continue
		}
		port := r.local.Port()
		at, _ := slices.BinarySearchFunc(c.listeners, r, func(l int, r *row) int {
			return compareListen(&rows[l], r.tab.udp, port)
		})
		for _, l := range c.listeners[at:] {
			lr := &rows[l]
			if compareListen(lr, r.tab.udp, port) != 0 {
				break
			}
			if covers(lr.local.Addr(), r.local.Addr()) && overlap(lr.sock.pids, r.sock.pids) {
				r.server = true
				break
			}
		}
	}
}

// compareListen orders a listener row against a (transport, port) key.
func compareListen(r *row, udp bool, port uint16) int {
	if r.tab.udp != udp {
		if udp {
			return -1
		}
		return 1
	}
	return cmp.Compare(r.local.Port(), port)
}

// role returns the row's Role value.
func (r *row) role() string {
	if r.server {
		return RoleServer
	}
	return RoleClient
}
