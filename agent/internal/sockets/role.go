package sockets

import (
	"cmp"
	"net/netip"
	"slices"
)

// roles decides the role of every row of network namespace g (rows): a
// listener is a server; any other socket is a server when a listener of the
// same transport, on its local port, covering its local address, shares an
// owner with it; else a client. Listeners are sorted by (transport, port)
// in r's reused slice, so deciding costs a binary search per socket.
func (r *reader) roles(g *nsGroup, rows []row) {
	r.listeners = r.listeners[:0]
	for i := range rows {
		if rows[i].listener() {
			rows[i].server = true
			r.listeners = append(r.listeners, i)
		}
	}
	if len(r.listeners) == 0 {
		return
	}
	slices.SortFunc(r.listeners, func(a, b int) int {
		return compareListen(&rows[a], rows[b].table().udp, rows[b].lport)
	})
	for i := range rows {
		s := &rows[i]
		if s.server {
			continue
		}
		port := s.lport
		at, _ := slices.BinarySearchFunc(r.listeners, s, func(l int, s *row) int {
			return compareListen(&rows[l], s.table().udp, port)
		})
		for _, l := range r.listeners[at:] {
			lr := &rows[l]
			if compareListen(lr, s.table().udp, port) != 0 {
				break
			}
			if covers(g.localAddr(lr), g.localAddr(s)) && overlap(lr.sock.holders(), s.sock.holders()) {
				s.server = true
				break
			}
		}
	}
}

// compareListen orders a listener row against a (transport, port) key.
func compareListen(r *row, udp bool, port uint16) int {
	if r.table().udp != udp {
		if udp {
			return -1
		}
		return 1
	}
	return cmp.Compare(r.lport, port)
}

// localAddr returns the local address of row r of g.
func (g *nsGroup) localAddr(r *row) netip.Addr {
	local, _ := g.endpoints(r)
	return local.Addr()
}

// role returns the row's Role value.
func (r *row) role() string {
	if r.server {
		return RoleServer
	}
	return RoleClient
}
