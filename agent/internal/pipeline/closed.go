package pipeline

import (
	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/snapshot"
)

// startSlack is how far a process's start time, which /proc gives to the
// clock tick (10 ms), may be after the time a connection of it opened.
const startSlack = 10

// closedConnections names the process of each closed connection among
// procs, the tick's reported processes, or else among before, the last
// state's (a process that exited since, as a client often does after its
// last connection): the one with the connection's pid that started last
// before the connection opened. A connection of a process that is not
// reported is left out, as its sockets are.
func closedConnections(closed []conns.Conn, procs, before []snapshot.Process) []snapshot.Connection {
	if len(closed) == 0 {
		return nil
	}
	now, prev := indexPIDs(procs), indexPIDs(before)
	out := make([]snapshot.Connection, 0, len(closed))
	for i := range closed {
		c := &closed[i]
		var opened int64
		born := c.Closed.UnixMilli() // the latest its process can have started
		if !c.Opened.IsZero() {
			opened = c.Opened.UnixMilli()
			born = opened
		}
		p := owner(procs, now[c.PID], born)
		if p == nil {
			p = owner(before, prev[c.PID], born)
		}
		if p == nil {
			continue
		}
		out = append(out, snapshot.Connection{
			Proto:   c.Proto,
			LocalIP: c.Local.Addr().String(), LocalPort: c.Local.Port(),
			RemoteIP: c.Remote.Addr().String(), RemotePort: c.Remote.Port(),
			Role: c.Role, NetNSID: c.NetNS, Cookie: c.Cookie,
			PID: p.PID, StartTime: p.StartTime, Name: p.Name,
			Opened: opened, Closed: c.Closed.UnixMilli(),
		})
	}
	return out
}

// indexPIDs indexes procs by pid (a reused pid has several).
func indexPIDs(procs []snapshot.Process) map[int][]int {
	m := make(map[int][]int, len(procs))
	for i := range procs {
		m[procs[i].PID] = append(m[procs[i].PID], i)
	}
	return m
}

// owner returns, among the processes of procs at idx, the one that
// started last no later than born (within startSlack), or nil.
func owner(procs []snapshot.Process, idx []int, born int64) *snapshot.Process {
	var best *snapshot.Process
	for _, j := range idx {
		if st := procs[j].StartTime; st <= born+startSlack && (best == nil || st > best.StartTime) {
			best = &procs[j]
		}
	}
	return best
}
