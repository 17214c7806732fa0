package snapshot

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Delta is the change from one snapshot of a host to the next: the body of a
// delta message. Processes are keyed by Key (pid, start time), sockets by
// inode. A process or socket whose key stays but whose fields differ is in
// Changed with all its fields (not a field-level patch). Host is the new
// host record (scan time, interval, ...). A Delta is a plain value; Diff
// returns slices that share no memory with its inputs' slices but share the
// Tags maps and PIDs slices of unchanged elements, which callers must treat
// as read-only.
type Delta struct {
	Host           Host      `json:"host"`
	Added          []Process `json:"added,omitempty"`
	Changed        []Process `json:"changed,omitempty"`
	Removed        []Key     `json:"removed,omitempty"`
	SocketsAdded   []Socket  `json:"sockets_added,omitempty"`
	SocketsChanged []Socket  `json:"sockets_changed,omitempty"`
	SocketsRemoved []uint64  `json:"sockets_removed,omitempty"`
}

// ErrDeltaMismatch is returned (wrapped) by Delta.Apply when the delta does
// not fit the snapshot it is applied to: it was computed against another
// base. The subscriber's answer is a resync.
var ErrDeltaMismatch = errors.New("delta does not fit the base snapshot")

// Diff returns what changed from prev to next. A nil prev is an empty host,
// so every process and socket of next is added. The result lists processes
// and sockets in next's order (removed ones in prev's order). next.Host is
// copied into the delta.
func Diff(prev, next *Snapshot) *Delta {
	d := &Delta{Host: next.Host}
	if prev == nil {
		prev = &Snapshot{}
	}
	prevProcs := make(map[Key]int, len(prev.Processes))
	for i := range prev.Processes {
		prevProcs[prev.Processes[i].Key()] = i
	}
	seen := make(map[Key]struct{}, len(next.Processes))
	for i := range next.Processes {
		p := &next.Processes[i]
		k := p.Key()
		seen[k] = struct{}{}
		j, ok := prevProcs[k]
		switch {
		case !ok:
			d.Added = append(d.Added, *p)
		case !equalProcess(&prev.Processes[j], p):
			d.Changed = append(d.Changed, *p)
		}
	}
	for i := range prev.Processes {
		if _, ok := seen[prev.Processes[i].Key()]; !ok {
			d.Removed = append(d.Removed, prev.Processes[i].Key())
		}
	}

	prevSocks := make(map[uint64]int, len(prev.Sockets))
	for i := range prev.Sockets {
		prevSocks[prev.Sockets[i].Inode] = i
	}
	seenSocks := make(map[uint64]struct{}, len(next.Sockets))
	for i := range next.Sockets {
		s := &next.Sockets[i]
		seenSocks[s.Inode] = struct{}{}
		j, ok := prevSocks[s.Inode]
		switch {
		case !ok:
			d.SocketsAdded = append(d.SocketsAdded, *s)
		case !equalSocket(&prev.Sockets[j], s):
			d.SocketsChanged = append(d.SocketsChanged, *s)
		}
	}
	for i := range prev.Sockets {
		if _, ok := seenSocks[prev.Sockets[i].Inode]; !ok {
			d.SocketsRemoved = append(d.SocketsRemoved, prev.Sockets[i].Inode)
		}
	}
	return d
}

// Empty reports whether the delta changes no process and no socket. The host
// record is not compared: its scan time moves every tick, and a heartbeat
// carries that instead.
func (d *Delta) Empty() bool {
	return len(d.Added) == 0 && len(d.Changed) == 0 && len(d.Removed) == 0 &&
		len(d.SocketsAdded) == 0 && len(d.SocketsChanged) == 0 && len(d.SocketsRemoved) == 0
}

// Apply returns the snapshot that results from applying d to s, sorted as
// Sort documents. s is not modified; the result shares unchanged elements'
// Tags maps and PIDs slices with s. A nil s is an empty host. Adding a key
// that exists, or changing or removing one that does not, returns an error
// wrapping ErrDeltaMismatch and no snapshot.
func (d *Delta) Apply(s *Snapshot) (*Snapshot, error) {
	if s == nil {
		s = &Snapshot{}
	}
	out := &Snapshot{Host: d.Host}

	procIdx := make(map[Key]int, len(s.Processes)+len(d.Added))
	for i := range s.Processes {
		procIdx[s.Processes[i].Key()] = i
	}
	procs := slices.Clone(s.Processes)
	drop := make([]bool, len(procs))
	for i := range d.Removed {
		j, ok := procIdx[d.Removed[i]]
		if !ok || drop[j] {
			return nil, fmt.Errorf("remove process %d/%d: %w", d.Removed[i].PID, d.Removed[i].StartTime, ErrDeltaMismatch)
		}
		drop[j] = true
	}
	for i := range d.Changed {
		k := d.Changed[i].Key()
		j, ok := procIdx[k]
		if !ok || drop[j] {
			return nil, fmt.Errorf("change process %d/%d: %w", k.PID, k.StartTime, ErrDeltaMismatch)
		}
		procs[j] = d.Changed[i]
	}
	out.Processes = make([]Process, 0, len(procs)-len(d.Removed)+len(d.Added))
	for i := range procs {
		if !drop[i] {
			out.Processes = append(out.Processes, procs[i])
		}
	}
	for i := range d.Added {
		k := d.Added[i].Key()
		if j, ok := procIdx[k]; ok && (j < 0 || !drop[j]) {
			return nil, fmt.Errorf("add process %d/%d: already present: %w", k.PID, k.StartTime, ErrDeltaMismatch)
		}
		procIdx[k] = -1
		out.Processes = append(out.Processes, d.Added[i])
	}
	if len(d.Added) > 0 || len(d.Changed) > 0 {
		slices.SortFunc(out.Processes, compareProcesses)
	}

	sockIdx := make(map[uint64]int, len(s.Sockets))
	for i := range s.Sockets {
		sockIdx[s.Sockets[i].Inode] = i
	}
	socks := slices.Clone(s.Sockets)
	dropSock := make([]bool, len(socks))
	for _, inode := range d.SocketsRemoved {
		j, ok := sockIdx[inode]
		if !ok || dropSock[j] {
			return nil, fmt.Errorf("remove socket %d: %w", inode, ErrDeltaMismatch)
		}
		dropSock[j] = true
	}
	for i := range d.SocketsChanged {
		inode := d.SocketsChanged[i].Inode
		j, ok := sockIdx[inode]
		if !ok || dropSock[j] {
			return nil, fmt.Errorf("change socket %d: %w", inode, ErrDeltaMismatch)
		}
		socks[j] = d.SocketsChanged[i]
	}
	out.Sockets = make([]Socket, 0, len(socks)-len(d.SocketsRemoved)+len(d.SocketsAdded))
	for i := range socks {
		if !dropSock[i] {
			out.Sockets = append(out.Sockets, socks[i])
		}
	}
	for i := range d.SocketsAdded {
		inode := d.SocketsAdded[i].Inode
		if j, ok := sockIdx[inode]; ok && (j < 0 || !dropSock[j]) {
			return nil, fmt.Errorf("add socket %d: already present: %w", inode, ErrDeltaMismatch)
		}
		sockIdx[inode] = -1
		out.Sockets = append(out.Sockets, d.SocketsAdded[i])
	}
	if len(d.SocketsAdded) > 0 || len(d.SocketsChanged) > 0 {
		slices.SortFunc(out.Sockets, compareSockets)
	}
	return out, nil
}

// Validate checks the invariants the delta logic relies on: no process key
// and no socket inode twice. The assembler rejects a full snapshot that
// breaks them.
func (s *Snapshot) Validate() error {
	keys := make(map[Key]struct{}, len(s.Processes))
	for i := range s.Processes {
		k := s.Processes[i].Key()
		if _, dup := keys[k]; dup {
			return fmt.Errorf("process %d/%d listed twice", k.PID, k.StartTime)
		}
		keys[k] = struct{}{}
	}
	inodes := make(map[uint64]struct{}, len(s.Sockets))
	for i := range s.Sockets {
		if _, dup := inodes[s.Sockets[i].Inode]; dup {
			return fmt.Errorf("socket %d listed twice", s.Sockets[i].Inode)
		}
		inodes[s.Sockets[i].Inode] = struct{}{}
	}
	return nil
}

func equalProcess(a, b *Process) bool {
	return a.PID == b.PID && a.PPID == b.PPID && a.StartTime == b.StartTime &&
		a.Name == b.Name && a.ProcessName == b.ProcessName && a.Cmdline == b.Cmdline &&
		a.Exe == b.Exe && a.User == b.User && a.UID == b.UID && a.NetNSID == b.NetNSID &&
		a.ContainerID == b.ContainerID && a.MatchedRule == b.MatchedRule &&
		maps.Equal(a.Tags, b.Tags)
}

func equalSocket(a, b *Socket) bool {
	return a.Proto == b.Proto && a.LocalIP == b.LocalIP && a.LocalPort == b.LocalPort &&
		a.RemoteIP == b.RemoteIP && a.RemotePort == b.RemotePort && a.State == b.State &&
		a.Role == b.Role && a.Inode == b.Inode && a.NetNSID == b.NetNSID &&
		slices.Equal(a.PIDs, b.PIDs)
}
