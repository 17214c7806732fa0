package snapshot

import (
	"errors"
	"fmt"
	"iter"
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
	switch {
	case (prev.SocketRows != nil || next.SocketRows != nil) && len(prev.Sockets) == 0 && len(next.Sockets) == 0:
		if !same(prev.SocketRows, next.SocketRows) {
			added, changed, removed := diffList(prev.SocketRows, next.SocketRows,
				func(r *SocketRow) uint64 { return r.Inode }, compareRows, equalRow)
			d.SocketsAdded, d.SocketsChanged, d.SocketsRemoved = Sockets(added), Sockets(changed), removed
		}
	case !same(prev.Sockets, next.Sockets) || prev.SocketRows != nil || next.SocketRows != nil:
		d.SocketsAdded, d.SocketsChanged, d.SocketsRemoved = diffList(prev.SocketList(), next.SocketList(),
			socketKey, compareSockets, equalSocket)
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
	if s.SocketRows != nil {
		t := *s
		t.Sockets, t.SocketRows = s.SocketList(), nil
		s = &t
	}
	pp, sp, err := d.plan(s)
	if err != nil {
		return nil, err
	}
	procs := applyList(&pp, s.Processes, d.Added, d.Changed, (*Process).Key, compareProcesses)
	socks := applyList(&sp, s.Sockets, d.SocketsAdded, d.SocketsChanged, socketKey, compareSockets)
	addrs := s.Addresses
	if d.Addresses != nil {
		addrs = d.Addresses
	}
	return &Snapshot{Host: d.Host, Processes: procs, Sockets: socks, Addresses: addrs,
		Closed: d.Closed, ClosedDropped: d.ClosedDropped}, nil
}

// plan plans d's ops on s's two lists and checks them against s.
func (d *Delta) plan(s *Snapshot) (procs listPlan[Key], socks listPlan[uint64], err error) {
	if procs, err = planList(d.Added, d.Changed, d.Removed, (*Process).Key, foldKey); err == nil {
		err = locate(&procs, s.Processes, (*Process).Key)
	}
	if err != nil {
		return procs, socks, fmt.Errorf("process %w", err)
	}
	if socks, err = planList(d.SocketsAdded, d.SocketsChanged, d.SocketsRemoved, socketKey, foldInode); err == nil {
		err = locate(&socks, s.Sockets, socketKey)
	}
	if err != nil {
		return procs, socks, fmt.Errorf("socket %w", err)
	}
	return procs, socks, nil
}

func socketKey(s *Socket) uint64 { return s.Inode }

// inodes yields the inodes of the sockets of s, in either form.
func (s *Snapshot) inodes() iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		for i := range s.Sockets {
			if !yield(s.Sockets[i].Inode) {
				return
			}
		}
		for i := range s.SocketRows {
			if !yield(s.SocketRows[i].Inode) {
				return
			}
		}
	}
}

func foldKey(k Key) uint64 { return uint64(k.PID) ^ uint64(k.StartTime)<<20 }

func foldInode(inode uint64) uint64 { return inode }

// ApplyInPlace applies d to s itself, as Apply does to a copy: s's lists
// are changed in their own arrays (grown only when additions need room), so
// no memory in proportion to the state is allocated or left to collect.
// Everything is checked before anything is changed: on an error (wrapping
// ErrDeltaMismatch) s is as it was. s must be sorted as Sort leaves it and
// stays so. Slices and maps of s's unchanged elements are kept; a changed
// element is replaced whole, never modified, so a copy of s's slices made
// before (Clone) keeps seeing the old state.
func (d *Delta) ApplyInPlace(s *Snapshot) error {
	if s.SocketRows != nil {
		// The rows become Sockets, which the delta's own are.
		t := *s
		t.Sockets, t.SocketRows = s.SocketList(), nil
		if err := d.ApplyInPlace(&t); err != nil {
			return err
		}
		*s = t
		return nil
	}
	pp, sp, err := d.plan(s)
	if err != nil {
		return err
	}
	d.applyPlanned(s, pp, sp)
	return nil
}

// applyPlanned is ApplyInPlace once d.plan(s) has checked the plans.
func (d *Delta) applyPlanned(s *Snapshot, pp listPlan[Key], sp listPlan[uint64]) {
	s.Processes = applyListInPlace(&pp, s.Processes, d.Added, d.Changed, (*Process).Key, compareProcesses)
	s.Sockets = applyListInPlace(&sp, s.Sockets, d.SocketsAdded, d.SocketsChanged, socketKey, compareSockets)
	s.Host = d.Host
	if d.Addresses != nil {
		s.Addresses = d.Addresses
	}
	s.Closed, s.ClosedDropped = d.Closed, d.ClosedDropped
}

// Clone returns a copy of s whose lists are its own (their elements'
// strings, maps and slices are shared: they are never modified in place),
// for a caller that must keep a state that ApplyInPlace will change.
func (s *Snapshot) Clone() *Snapshot {
	c := *s
	c.Processes = slices.Clone(s.Processes)
	c.Sockets = slices.Clone(s.Sockets)
	c.SocketRows = slices.Clone(s.SocketRows)
	c.Addresses = slices.Clone(s.Addresses)
	c.Closed = slices.Clone(s.Closed)
	return &c
}

// Flags of one key in a listPlan.
const (
	opRemove = 1 << iota
	opChange
	opAdd
	opSeen
)

// listPlan is what a delta does to one list, by key: the ops on each key
// and where its changed element is.
type listPlan[K comparable] struct {
	ops       map[K]uint8
	changedAt map[K]int
	// touched is the keys removed, then those changed, in the delta's
	// order: an error names the first that does not fit.
	touched []K
	// at is, once locate has checked the plan against a list, the
	// indexes in that list of the elements removed or changed, ascending.
	at []int
	// filter has a bit set for each key in ops (a one-hash Bloom filter
	// over fold's value), so that locate looks up in ops only the few
	// elements of a list whose bit is set.
	filter [16]uint64
	fold   func(K) uint64
}

// bit is the place of key k in the plan's filter.
func (p *listPlan[K]) bit(k K) (word int, mask uint64) {
	h := p.fold(k) * 0x9e3779b97f4a7c15
	return int(h >> 60), 1 << (h >> 54 & 63)
}

// mark sets k's bit in the filter.
func (p *listPlan[K]) mark(k K) {
	w, m := p.bit(k)
	p.filter[w] |= m
}

// mayHave reports whether k may be in ops: false means it is not.
func (p *listPlan[K]) mayHave(k K) bool {
	w, m := p.bit(k)
	return p.filter[w]&m != 0
}

// planList collects the ops of a delta on one list and refuses a key that
// is removed twice, changed twice or after its removal, or added twice or
// while changed.
func planList[T any, K comparable](added, changed []T, removed []K, key func(*T) K, fold func(K) uint64) (listPlan[K], error) {
	p := listPlan[K]{ops: make(map[K]uint8, len(added)+len(changed)+len(removed)), changedAt: make(map[K]int, len(changed)), fold: fold}
	for _, k := range removed {
		if p.ops[k]&opRemove != 0 {
			return p, fmt.Errorf("%v removed twice: %w", k, ErrDeltaMismatch)
		}
		p.ops[k] |= opRemove
		p.mark(k)
		p.touched = append(p.touched, k)
	}
	for i := range changed {
		k := key(&changed[i])
		if p.ops[k]&(opRemove|opChange) != 0 {
			return p, fmt.Errorf("%v changed twice or after removal: %w", k, ErrDeltaMismatch)
		}
		p.ops[k] |= opChange
		p.mark(k)
		p.changedAt[k] = i
		p.touched = append(p.touched, k)
	}
	for i := range added {
		k := key(&added[i])
		if p.ops[k]&(opAdd|opChange) != 0 {
			return p, fmt.Errorf("%v added twice or while changed: %w", k, ErrDeltaMismatch)
		}
		p.ops[k] |= opAdd
		p.mark(k)
	}
	return p, nil
}

// locate finds in base the elements plan p removes or changes (p.at) and
// refuses p when base lacks one of them or has a key p adds; it changes
// nothing in base.
func locate[T any, K comparable](p *listPlan[K], base []T, key func(*T) K) error {
	p.at = make([]int, 0, len(p.touched))
	if len(p.ops) == 0 {
		return nil
	}
	for i := range base {
		k := key(&base[i])
		if !p.mayHave(k) {
			continue
		}
		op, ok := p.ops[k]
		if !ok {
			continue
		}
		if op&(opRemove|opChange) == 0 {
			return fmt.Errorf("%v added but already present: %w", k, ErrDeltaMismatch)
		}
		p.at = append(p.at, i)
	}
	if len(p.at) == len(p.touched) {
		return nil
	}
	present := make(map[K]struct{}, len(p.at))
	for _, i := range p.at {
		present[key(&base[i])] = struct{}{}
	}
	for _, k := range p.touched {
		if _, ok := present[k]; !ok {
			return fmt.Errorf("%v removed or changed but absent: %w", k, ErrDeltaMismatch)
		}
	}
	return nil
}

// applyList applies plan p, located in the sorted list base, and returns
// a new sorted list; base is not modified.
func applyList[T any, K comparable](p *listPlan[K], base, added, changed []T, key func(*T) K, cmp func(a, b T) int) []T {
	c := make([]T, len(base), len(base)+len(added))
	copy(c, base)
	return applyListInPlace(p, c, added, changed, key, cmp)
}

// applyListInPlace applies plan p, located in the sorted list base, in
// base's array (a new one when the additions need more room) and returns
// the list, sorted. The elements between those the plan touches move in
// blocks, never one by one: a forward pass drops the removed elements and
// puts each changed one in its place when its sort position holds; a
// backward pass opens a gap for each addition (and each moved changed
// element) at the place a binary search finds. The work is a copy of the
// elements after the first touched place plus O(k log n) for k
// additions.
func applyListInPlace[T any, K comparable](p *listPlan[K], base, added, changed []T, key func(*T) K, cmp func(a, b T) int) []T {
	old := len(base)
	var inserts []T
	w, r := 0, 0 // base[:w] is the result so far; base[r:] not yet read
	for _, t := range p.at {
		if w != r {
			copy(base[w:], base[r:t])
		}
		w += t - r
		r = t + 1
		k := key(&base[t])
		if p.ops[k]&opRemove != 0 {
			continue
		}
		c := changed[p.changedAt[k]]
		if (w == 0 || cmp(base[w-1], c) < 0) && (t+1 == old || cmp(c, base[t+1]) < 0) {
			base[w] = c
			w++
		} else {
			inserts = append(inserts, c)
		}
	}
	if w != r {
		copy(base[w:], base[r:])
	}
	n := w + old - r
	inserts = append(inserts, added...)
	slices.SortFunc(inserts, cmp)
	total := n + len(inserts)
	out := base[:min(total, cap(base))]
	fresh := total > cap(base)
	if fresh {
		out = make([]T, total, total+total/8)
	}
	end := n // base[:end] is still in place, unmoved
	for j := len(inserts) - 1; j >= 0; j-- {
		at, _ := slices.BinarySearchFunc(base[:end], inserts[j], cmp)
		copy(out[at+j+1:end+j+1], base[at:end])
		out[at+j] = inserts[j]
		end = at
	}
	if fresh {
		copy(out, base[:end])
	}
	if total < old {
		clear(base[total:old]) // drop what the removed elements refer to
	}
	return out
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
	inodes := make(map[uint64]struct{}, s.NumSockets())
	for inode := range s.inodes() {
		if _, dup := inodes[inode]; dup {
			return fmt.Errorf("socket %d listed twice", inode)
		}
		inodes[inode] = struct{}{}
	}
	return nil
}

// Equal reports whether p and q are the same in every field, as Diff
// compares processes.
func (p *Process) Equal(q *Process) bool { return equalProcess(p, q) }

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
