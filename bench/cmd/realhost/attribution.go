package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
	"github.com/proctag/proctag/agent/snapshot"
)

// slackMS is how far apart, in ms, a reported end and a connection may be
// in time and still be the same connection: clocks, the scan's own
// duration, and a local port reused later (loopback allows it from
// TIME_WAIT) are told apart by it.
const slackMS = 1000

// span is a time interval in unix ms.
type span struct{ from, to int64 }

// overlaps reports whether s and o overlap, allowing slack ms.
func (s span) overlaps(o span, slack int64) bool {
	return s.from <= o.to+slack && o.from <= s.to+slack
}

// conn is one churn connection as its client child reported it.
type conn struct {
	pid  int
	port uint16
	when span
}

// parseConnLine parses a client child's "conn PORT OPENED_MS CLOSED_MS"
// line; ok is false for any other line.
func parseConnLine(line string) (c conn, ok bool) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "conn" {
		return conn{}, false
	}
	port, err1 := strconv.ParseUint(f[1], 10, 16)
	from, err2 := strconv.ParseInt(f[2], 10, 64)
	to, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || from > to {
		return conn{}, false
	}
	return conn{port: uint16(port), when: span{from, to}}, true
}

// endKey names one end of a churn connection by the client's port.
type endKey struct {
	server bool
	port   uint16
}

// sighting is a process the agent reported at one end, and when.
type sighting struct {
	pid  int
	when span
}

// sightings collects, from each new state, the ends of connections to
// the churn listener's port that the agent reported: Closed entries
// (connections of the interval) and live Sockets. It is a watcher; read
// it only once unwatched.
type sightings struct {
	lport    uint16
	interval time.Duration
	ends     map[endKey][]sighting
	// states counts the states seen, closed their Closed entries for
	// this listener, dropped the ClosedDropped of every state.
	states, closed, dropped int
	// lastClosed is the first Closed entry of the last state, to count a
	// list a heartbeat hands on once.
	lastClosed *snapshot.Connection
}

// newSightings returns sightings for the listener on port lport of an
// agent ticking every interval.
func newSightings(lport uint16, interval time.Duration) *sightings {
	return &sightings{lport: lport, interval: interval, ends: make(map[endKey][]sighting)}
}

// observe is the watcher.
func (s *sightings) observe(_ time.Time, st *snapshot.Snapshot) {
	s.states++
	s.dropped += st.ClosedDropped
	scan := st.Host.ScanTime.UnixMilli()
	// A Closed entry without times happened since the previous tick.
	tick := span{scan - s.interval.Milliseconds(), scan}
	closed := st.Closed
	if len(closed) > 0 && &closed[0] == s.lastClosed {
		closed = nil // a heartbeat hands on the last delta's list
	} else if len(closed) > 0 {
		s.lastClosed = &closed[0]
	}
	for _, c := range closed {
		k, ok := s.key(c.Role, c.LocalPort, c.RemotePort)
		if !ok {
			continue
		}
		s.closed++
		when := tick
		if c.Opened > 0 && c.Closed >= c.Opened {
			when = span{c.Opened, c.Closed}
		}
		s.ends[k] = append(s.ends[k], sighting{c.PID, when})
	}
	for _, so := range st.Sockets {
		k, ok := s.key(so.Role, so.LocalPort, so.RemotePort)
		if !ok {
			continue
		}
		for _, pid := range so.PIDs {
			s.ends[k] = append(s.ends[k], sighting{pid, span{scan, scan}})
		}
	}
}

// key returns the end a socket of role with these ports is, if it belongs
// to a churn connection.
func (s *sightings) key(role string, local, remote uint16) (endKey, bool) {
	switch {
	case role == "client" && remote == s.lport:
		return endKey{port: local}, true
	case role == "server" && local == s.lport && remote != 0:
		return endKey{server: true, port: remote}, true
	}
	return endKey{}, false
}

// seen reports whether the end k was reported with pid around when.
func (s *sightings) seen(k endKey, pid int, when span) bool {
	for _, x := range s.ends[k] {
		if x.pid == pid && x.when.overlaps(when, slackMS) {
			return true
		}
	}
	return false
}

// attribution is how many churn connections the agent got right.
type attribution struct {
	// made is the connections the clients made; client, server and both
	// those with that end (or both) reported with the right pid.
	made, client, server, both int
	// dialErrors are the clients' failed connects.
	dialErrors int
	// states, closed, closedDropped: see sightings. changesDropped
	// counts states the subscriber dropped (this program too slow).
	states, closed, closedDropped int
	changesDropped                uint64
}

// match checks every connection against what was seen: the client end
// with the client's pid and port, the server end with serverPID and the
// client's port as remote port.
func (s *sightings) match(conns []conn, serverPID int) attribution {
	a := attribution{made: len(conns), states: s.states, closed: s.closed, closedDropped: s.dropped}
	for _, c := range conns {
		cl := s.seen(endKey{port: c.port}, c.pid, c.when)

		sv := s.seen(endKey{server: true, port: c.port}, serverPID, c.when)
		a.client += b2i(cl)
		a.server += b2i(sv)
		a.both += b2i(cl && sv)
	}
	return a
}

// share is the percentage of connections with both ends right.
func (a attribution) share() float64 {
	if a.made == 0 {
		return 0
	}
	return 100 * float64(a.both) / float64(a.made)
}

// String sums it up for the table's note.
func (a attribution) String() string {
	return fmt.Sprintf("%d conns: client end %s, server end %s; %d states, %d Closed entries, %d dropped by the agent",
		a.made, report.Percent(float64(a.client), float64(a.made)), report.Percent(float64(a.server), float64(a.made)),
		a.states, a.closed, a.closedDropped)
}

// b2i counts a true as 1.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
