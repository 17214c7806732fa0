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
	// Addresses, when present, replace the host's address list as a
	// whole; absent, the list did not change.
	Addresses []NetNSAddrs `json:"addresses,omitempty"`
	// Closed and ClosedDropped are the new state's own (see Snapshot):
	// what happened during the interval, not a change to apply.
	Closed        []Connection `json:"closed,omitempty"`
	ClosedDropped int          `json:"closed_dropped,omitempty"`
}

// ErrDeltaMismatch is returned (wrapped) by Delta.Apply when the delta does
// not fit the snapshot it is applied to: it was computed against another
// base. The subscriber's answer is a resync.
var ErrDeltaMismatch = errors.New("delta does not fit the base snapshot")

// Diff returns what changed from prev to next. A nil prev is an empty host,
// so every process and socket of next is added. next.Host is copied into the
// delta. Diff walks both lists side by side, which costs one pass and no
// allocation for what did not change when both are sorted as Sort leaves
// them; unsorted lists give the same delta, only slower. Added and changed
// elements come in next's order, removed keys in prev's, except elements
// whose sort position moved, which come last.
func Diff(prev, next *Snapshot) *Delta {
	d := &Delta{Host: next.Host, Closed: next.Closed, ClosedDropped: next.ClosedDropped}
	if prev == nil {
		prev = &Snapshot{}
	}
	if !same(prev.Processes, next.Processes) {
		d.Added, d.Changed, d.Removed = diffList(prev.Processes, next.Processes, (*Process).Key, compareProcesses, equalProcess)
	}
	if !same(prev.Sockets, next.Sockets) {
		d.SocketsAdded, d.SocketsChanged, d.SocketsRemoved = diffList(prev.Sockets, next.Sockets,
			func(s *Socket) uint64 { return s.Inode }, compareSockets, equalSocket)
	}
	if !slices.EqualFunc(prev.Addresses, next.Addresses, equalNetNSAddrs) {
		d.Addresses = next.Addresses
	}
	return d
}

func equalNetNSAddrs(a, b NetNSAddrs) bool {
	return a.NetNSID == b.NetNSID && slices.Equal(a.Addrs, b.Addrs)
}

// same reports whether a and b are one slice: a state handed on unchanged
// (snapshots are not modified once made), which Diff need not walk.
func same[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// diffList compares two lists keyed by key. It walks them in step while the
// keys match; where they differ, the sort order says which side is behind.
// Elements left unmatched on both sides are then paired by key, so a moved
// or out-of-order element is still found.
func diffList[T any, K comparable](prev, next []T, key func(*T) K, cmp func(a, b T) int, equal func(a, b *T) bool) (added, changed []T, removed []K) {
	var gone, fresh []int // unmatched indexes into prev and next
	i, j := 0, 0
	for i < len(prev) && j < len(next) {
		if key(&prev[i]) == key(&next[j]) {
			if !equal(&prev[i], &next[j]) {
				changed = append(changed, next[j])
			}
			i, j = i+1, j+1
			continue
		}
		if cmp(prev[i], next[j]) < 0 {
			gone = append(gone, i)
			i++
		} else {
			fresh = append(fresh, j)
			j++
		}
	}
	for ; i < len(prev); i++ {
		gone = append(gone, i)
	}
	for ; j < len(next); j++ {
		fresh = append(fresh, j)
	}
	var byKey map[K]int
	if len(gone) > 0 && len(fresh) > 0 {
		byKey = make(map[K]int, len(gone))
		for _, gi := range gone {
			byKey[key(&prev[gi])] = gi
		}
	}
	for _, fj := range fresh {
		k := key(&next[fj])
		if gi, ok := byKey[k]; ok {
			delete(byKey, k)
			if !equal(&prev[gi], &next[fj]) {
				changed = append(changed, next[fj])
			}
			continue
		}
		added = append(added, next[fj])
	}
	for _, gi := range gone {
		k := key(&prev[gi])
		if byKey != nil {
			if _, ok := byKey[k]; !ok {
				continue // paired with an element of next
			}
		}
		removed = append(removed, k)
	}
	return added, changed, removed
}

// Empty reports whether the delta changes no process, no socket and no
// address and reports no closed connection. The host record is not compared: its scan
// time moves every tick, and a heartbeat carries that instead.
func (d *Delta) Empty() bool {
	return len(d.Added) == 0 && len(d.Changed) == 0 && len(d.Removed) == 0 &&
		len(d.SocketsAdded) == 0 && len(d.SocketsChanged) == 0 && len(d.SocketsRemoved) == 0 &&
		d.Addresses == nil && len(d.Closed) == 0 && d.ClosedDropped == 0
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
	addrs := s.Addresses
	if d.Addresses != nil {
		addrs = d.Addresses
	}
	return &Snapshot{Host: d.Host, Processes: procs, Sockets: socks, Addresses: addrs,
		Closed: d.Closed, ClosedDropped: d.ClosedDropped}, nil
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
		a.Exited == b.Exited && maps.Equal(a.Tags, b.Tags)
}

func equalSocket(a, b *Socket) bool {
	return a.Proto == b.Proto && a.LocalIP == b.LocalIP && a.LocalPort == b.LocalPort &&
		a.RemoteIP == b.RemoteIP && a.RemotePort == b.RemotePort && a.State == b.State &&
		a.Role == b.Role && a.Inode == b.Inode && a.NetNSID == b.NetNSID &&
		slices.Equal(a.PIDs, b.PIDs)
}
