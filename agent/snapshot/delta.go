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

// Apply returns the snapshot that results from applying d to s. s must be
// sorted as Sort leaves it (the assembler guarantees that); the result is
// sorted too. s is not modified; the result shares unchanged elements' Tags
// maps and PIDs slices with s. A nil s is an empty host. Adding a key that
// exists, or changing or removing one that does not, returns an error
// wrapping ErrDeltaMismatch and no snapshot. The cost is one pass over s
// plus O(k log n) for k added or moved elements.
func (d *Delta) Apply(s *Snapshot) (*Snapshot, error) {
	if s == nil {
		s = &Snapshot{}
	}
	procs, err := applyList(s.Processes, d.Added, d.Changed, d.Removed, (*Process).Key, compareProcesses)
	if err != nil {
		return nil, fmt.Errorf("process %w", err)
	}
	socks, err := applyList(s.Sockets, d.SocketsAdded, d.SocketsChanged, d.SocketsRemoved,
		func(sk *Socket) uint64 { return sk.Inode }, compareSockets)
	if err != nil {
		return nil, fmt.Errorf("socket %w", err)
	}
	return &Snapshot{Host: d.Host, Processes: procs, Sockets: socks}, nil
}

// Flags of one key in applyList.
const (
	opRemove = 1 << iota
	opChange
	opAdd
	opSeen
)

// applyList applies removals, changes and additions to the sorted list base
// and returns a new sorted list. Changed elements whose sort position moved
// are re-inserted like additions.
func applyList[T any, K comparable](base, added, changed []T, removed []K, key func(*T) K, cmp func(a, b T) int) ([]T, error) {
	ops := make(map[K]uint8, len(added)+len(changed)+len(removed))
	changedAt := make(map[K]int, len(changed))
	for _, k := range removed {
		if ops[k]&opRemove != 0 {
			return nil, fmt.Errorf("%v removed twice: %w", k, ErrDeltaMismatch)
		}
		ops[k] |= opRemove
	}
	for i := range changed {
		k := key(&changed[i])
		if ops[k]&(opRemove|opChange) != 0 {
			return nil, fmt.Errorf("%v changed twice or after removal: %w", k, ErrDeltaMismatch)
		}
		ops[k] |= opChange
		changedAt[k] = i
	}
	for i := range added {
		k := key(&added[i])
		if ops[k]&(opAdd|opChange) != 0 {
			return nil, fmt.Errorf("%v added twice or while changed: %w", k, ErrDeltaMismatch)
		}
		ops[k] |= opAdd
	}
	kept := make([]T, 0, len(base)+len(added))
	var inserts []T
	for i := range base {
		k := key(&base[i])
		op, ok := ops[k]
		if !ok {
			kept = append(kept, base[i])
			continue
		}
		ops[k] = op | opSeen
		switch {
		case op&opRemove != 0:
		case op&opChange != 0:
			c := changed[changedAt[k]]
			if (len(kept) == 0 || cmp(kept[len(kept)-1], c) < 0) && (i+1 == len(base) || cmp(c, base[i+1]) < 0) {
				kept = append(kept, c)
			} else {
				inserts = append(inserts, c)
			}
		default:
			return nil, fmt.Errorf("%v added but already present: %w", k, ErrDeltaMismatch)
		}
	}
	for k, op := range ops {
		if op&(opRemove|opChange) != 0 && op&opSeen == 0 {
			return nil, fmt.Errorf("%v removed or changed but absent: %w", k, ErrDeltaMismatch)
		}
	}
	inserts = append(inserts, added...)
	if len(inserts) == 0 {
		return kept, nil
	}
	slices.SortFunc(inserts, cmp)
	out := make([]T, 0, len(kept)+len(inserts))
	from := 0
	for _, ins := range inserts {
		at, _ := slices.BinarySearchFunc(kept[from:], ins, cmp)
		out = append(out, kept[from:from+at]...)
		out = append(out, ins)
		from += at
	}
	return append(out, kept[from:]...), nil
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
