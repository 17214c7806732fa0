package pipeline

import (
	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/snapshot"
)

// startSlack is how far a process's start time, which /proc gives to the
// clock tick (10 ms), may be after the time a connection of it opened.
const startSlack = 10

// closedConnections names the process of each closed connection among
// procs, the tick's reported processes: the one with the connection's pid
// that started last before the connection opened. A connection of a
// process that is not reported is left out, as its sockets are.
func closedConnections(closed []conns.Conn, procs []snapshot.Process) []snapshot.Connection {
	if len(closed) == 0 {
		return nil
	}
	byPID := make(map[int][]int, len(procs))
	for i := range procs {
		byPID[procs[i].PID] = append(byPID[procs[i].PID], i)
	}
	out := make([]snapshot.Connection, 0, len(closed))
	for i := range closed {
		c := &closed[i]
		var opened int64
		born := c.Closed.UnixMilli() // the latest its process can have started
		if !c.Opened.IsZero() {
			opened = c.Opened.UnixMilli()
			born = opened
		}
		best := -1
		for _, j := range byPID[c.PID] {
			if st := procs[j].StartTime; st <= born+startSlack && (best < 0 || st > procs[best].StartTime) {
				best = j
			}
		}
		if best < 0 {
			continue
		}
		p := &procs[best]
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
