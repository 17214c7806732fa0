package natssub

import "github.com/proctag/proctag/agent/snapshot"

// procTable is a host's processes by pid as its indexed sockets name them:
// one entry per pid that a process or an indexed socket has, in a slice, so
// that a socket keeps its owner's entry by index and a lookup reads it
// without a map. An entry goes when neither a process nor a socket has its
// pid any more.
type procTable struct {
	byPID map[int]int32
	ents  []procSlot
	free  []int32
}

// procSlot is the process a pid names: the newest by start time when two
// share it for a tick (the kernel reused the pid); start and name are zero
// while no process has the pid.
type procSlot struct {
	pid   int
	start int64
	name  string
	refs  int32 // sockets with the pid, plus one while a process has it
	live  bool
}

// reset empties t, sized for n processes.
func (t *procTable) reset(n int) {
	t.byPID = make(map[int]int32, n)
	t.ents, t.free = t.ents[:0], t.free[:0]
}

// slot returns pid's entry, made when there is none.
func (t *procTable) slot(pid int) int32 {
	if i, ok := t.byPID[pid]; ok {
		return i
	}
	var i int32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		i = int32(len(t.ents))
		t.ents = append(t.ents, procSlot{})
	}
	t.ents[i] = procSlot{pid: pid}
	t.byPID[pid] = i
	return i
}

// ref returns pid's entry for a socket that has the pid.
func (t *procTable) ref(pid int) int32 {
	i := t.slot(pid)
	t.ents[i].refs++
	return i
}

// unref releases entry i, which a socket had.
func (t *procTable) unref(i int32) {
	t.ents[i].refs--
	t.release(i)
}

func (t *procTable) release(i int32) {
	if e := &t.ents[i]; e.refs == 0 {
		delete(t.byPID, e.pid)
		*e = procSlot{}
		t.free = append(t.free, i)
	}
}

// set records p under its pid, unless a newer process has the pid.
func (t *procTable) set(p *snapshot.Process) {
	e := &t.ents[t.slot(p.PID)]
	if !e.live {
		e.live, e.refs = true, e.refs+1
	} else if p.StartTime < e.start {
		return
	}
	e.start, e.name = p.StartTime, p.Name
}

// remove forgets the process k when it is the one its pid names.
func (t *procTable) remove(k snapshot.Key) {
	i, ok := t.byPID[k.PID]
	if e := &t.ents[i]; !ok || !e.live || e.start != k.StartTime {
		return
	}
	e := &t.ents[i]
	e.live, e.start, e.name = false, 0, ""
	e.refs--
	t.release(i)
}
