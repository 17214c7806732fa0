package snapshot

import (
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func proc(pid int, start int64, name string) Process {
	return Process{PID: pid, StartTime: start, Name: name, ProcessName: name, Cmdline: name, MatchedRule: -1}
}

func sock(inode uint64, port uint16, pids ...int) Socket {
	return Socket{Proto: "tcp", LocalIP: "127.0.0.1", LocalPort: port, RemoteIP: "0.0.0.0", State: "LISTEN", Role: "server", Inode: inode, PIDs: pids}
}

func snap(procs []Process, socks []Socket) *Snapshot {
	s := &Snapshot{Host: Host{HostID: "h1"}, Processes: procs, Sockets: socks}
	s.Sort()
	return s
}

func TestDiffApply(t *testing.T) {
	tagged := proc(10, 1, "a")
	tagged.Tags = map[string]string{"k": "v"}
	retagged := proc(10, 1, "a")
	retagged.Tags = map[string]string{"k": "w"}
	tests := []struct {
		name       string
		prev, next *Snapshot
		wantEmpty  bool
		added      int
		changed    int
		removed    int
		sockAdded  int
		sockChange int
		sockRemove int
	}{
		{name: "identical states give an empty delta",
			prev: snap([]Process{proc(1, 1, "a")}, []Socket{sock(9, 80, 1)}), next: snap([]Process{proc(1, 1, "a")}, []Socket{sock(9, 80, 1)}), wantEmpty: true},
		{name: "nil prev adds everything",
			prev: nil, next: snap([]Process{proc(1, 1, "a"), proc(2, 1, "b")}, []Socket{sock(9, 80, 1)}), added: 2, sockAdded: 1},
		{name: "a new process is added",
			prev: snap([]Process{proc(1, 1, "a")}, nil), next: snap([]Process{proc(1, 1, "a"), proc(2, 5, "b")}, nil), added: 1},
		{name: "an exited process is removed",
			prev: snap([]Process{proc(1, 1, "a"), proc(2, 5, "b")}, nil), next: snap([]Process{proc(2, 5, "b")}, nil), removed: 1},
		{name: "pid reuse is a removal and an addition, never a change",
			prev: snap([]Process{proc(7, 1, "old")}, nil), next: snap([]Process{proc(7, 2, "new")}, nil), added: 1, removed: 1},
		{name: "a renamed process is changed",
			prev: snap([]Process{proc(1, 1, "a")}, nil), next: snap([]Process{proc(1, 1, "b")}, nil), changed: 1},
		{name: "a tag value change is a change",
			prev: snap([]Process{tagged}, nil), next: snap([]Process{retagged}, nil), changed: 1},
		{name: "a socket with a new owner is changed",
			prev: snap(nil, []Socket{sock(9, 80, 1)}), next: snap(nil, []Socket{sock(9, 80, 1, 2)}), sockChange: 1},
		{name: "sockets are keyed by inode",
			prev: snap(nil, []Socket{sock(9, 80, 1)}), next: snap(nil, []Socket{sock(10, 80, 1)}), sockAdded: 1, sockRemove: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Diff(tt.prev, tt.next)
			if d.Empty() != tt.wantEmpty {
				t.Fatalf("Empty() = %v, want %v (%+v)", d.Empty(), tt.wantEmpty, d)
			}
			got := []int{len(d.Added), len(d.Changed), len(d.Removed), len(d.SocketsAdded), len(d.SocketsChanged), len(d.SocketsRemoved)}
			want := []int{tt.added, tt.changed, tt.removed, tt.sockAdded, tt.sockChange, tt.sockRemove}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("counts added/changed/removed/sock added/changed/removed = %v, want %v", got, want)
			}
			applied, err := d.Apply(tt.prev)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			assertSameState(t, applied, tt.next)
			inPlace := &Snapshot{}
			if tt.prev != nil {
				inPlace = tt.prev.Clone()
			}
			if err := d.ApplyInPlace(inPlace); err != nil {
				t.Fatalf("ApplyInPlace: %v", err)
			}
			assertSameState(t, inPlace, tt.next)
		})
	}
}

func TestDiffApplySynthetic(t *testing.T) {
	prev := synth(500, 5000, 1)
	next := churn(prev, 20, 2)
	d := Diff(prev, next)
	if len(d.Added) != 20 || len(d.Removed) != 20 || len(d.SocketsAdded) != 200 || len(d.SocketsRemoved) != 200 {
		t.Fatalf("unexpected delta sizes: +%d -%d ~%d sockets +%d -%d", len(d.Added), len(d.Removed), len(d.Changed), len(d.SocketsAdded), len(d.SocketsRemoved))
	}
	got, err := d.Apply(prev)
	if err != nil {
		t.Fatal(err)
	}
	assertSameState(t, got, next)
	if prev.Processes[0].PID != synth(500, 5000, 1).Processes[0].PID {
		t.Fatal("Apply modified its base")
	}
}

func TestApplyRejectsMismatchedDelta(t *testing.T) {
	base := snap([]Process{proc(1, 1, "a")}, []Socket{sock(9, 80, 1)})
	tests := []struct {
		name string
		d    Delta
	}{
		{"removing an unknown process", Delta{Removed: []Key{{PID: 2, StartTime: 1}}}},
		{"removing a process twice", Delta{Removed: []Key{{PID: 1, StartTime: 1}, {PID: 1, StartTime: 1}}}},
		{"changing an unknown process", Delta{Changed: []Process{proc(1, 2, "a")}}},
		{"changing a removed process", Delta{Removed: []Key{{PID: 1, StartTime: 1}}, Changed: []Process{proc(1, 1, "b")}}},
		{"adding a present process", Delta{Added: []Process{proc(1, 1, "a")}}},
		{"adding a process twice", Delta{Added: []Process{proc(3, 1, "a"), proc(3, 1, "b")}}},
		{"removing an unknown socket", Delta{SocketsRemoved: []uint64{10}}},
		{"changing an unknown socket", Delta{SocketsChanged: []Socket{sock(10, 80)}}},
		{"adding a present socket", Delta{SocketsAdded: []Socket{sock(9, 81)}}},
		{"adding a socket twice", Delta{SocketsAdded: []Socket{sock(11, 81), sock(11, 82)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.d.Apply(base)
			if !errors.Is(err, ErrDeltaMismatch) {
				t.Fatalf("Apply error = %v, want ErrDeltaMismatch", err)
			}
			if got != nil {
				t.Fatal("Apply returned a snapshot with its error")
			}
			inPlace := base.Clone()
			if err := tt.d.ApplyInPlace(inPlace); !errors.Is(err, ErrDeltaMismatch) {
				t.Fatalf("ApplyInPlace error = %v, want ErrDeltaMismatch", err)
			}
			assertSameState(t, inPlace, base)
		})
	}
}

func TestApplyAllowsReplacingARemovedKey(t *testing.T) {
	base := snap([]Process{proc(1, 1, "a")}, []Socket{sock(9, 80, 1)})
	d := Delta{Host: base.Host, Removed: []Key{{PID: 1, StartTime: 1}}, Added: []Process{proc(1, 1, "b")},
		SocketsRemoved: []uint64{9}, SocketsAdded: []Socket{sock(9, 81, 1)}}
	got, err := d.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	if got.Processes[0].Name != "b" || got.Sockets[0].LocalPort != 81 {
		t.Fatalf("got %+v", got)
	}
}

func TestSortOrdersAddressesNumerically(t *testing.T) {
	s := &Snapshot{Sockets: []Socket{
		{Proto: "tcp", LocalIP: "10.0.0.10", Inode: 1},
		{Proto: "tcp", LocalIP: "10.0.0.9", Inode: 2},
		{Proto: "tcp", LocalIP: "10.0.0.9", LocalPort: 1, Inode: 3},
		{Proto: "tcp6", LocalIP: "::1", Inode: 4},
	}}
	s.Sort()
	var got []uint64
	for _, sk := range s.Sockets {
		got = append(got, sk.Inode)
	}
	if want := []uint64{2, 3, 1, 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// assertSameState compares two states, treating nil and empty lists alike.
func assertSameState(t *testing.T, got, want *Snapshot) {
	t.Helper()
	norm := func(s *Snapshot) Snapshot {
		c := *s
		if len(c.Processes) == 0 {
			c.Processes = nil
		}
		if len(c.Sockets) == 0 {
			c.Sockets = nil
		}
		if len(c.Addresses) == 0 {
			c.Addresses = nil
		}
		if len(c.Closed) == 0 {
			c.Closed = nil
		}
		return c
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("state mismatch:\n got %+v\nwant %+v", g, w)
	}
}

func TestDiffOfUnsortedListsMatchesSorted(t *testing.T) {
	prev := synth(300, 3000, 5)
	next := churn(prev, 10, 6)
	next.Processes[5].PPID = 999999 // a change in place
	want := Diff(prev, next)
	shuffled := func(s *Snapshot, seed uint64) *Snapshot {
		c := *s
		c.Processes = slices.Clone(s.Processes)
		c.Sockets = slices.Clone(s.Sockets)
		r := rand.New(rand.NewPCG(seed, 1))
		r.Shuffle(len(c.Processes), func(i, j int) { c.Processes[i], c.Processes[j] = c.Processes[j], c.Processes[i] })
		r.Shuffle(len(c.Sockets), func(i, j int) { c.Sockets[i], c.Sockets[j] = c.Sockets[j], c.Sockets[i] })
		return &c
	}
	got := Diff(shuffled(prev, 1), shuffled(next, 2))
	counts := func(d *Delta) []int {
		return []int{len(d.Added), len(d.Changed), len(d.Removed), len(d.SocketsAdded), len(d.SocketsChanged), len(d.SocketsRemoved)}
	}
	if !slices.Equal(counts(got), counts(want)) {
		t.Fatalf("unsorted diff counts %v, sorted %v", counts(got), counts(want))
	}
	applied, err := got.Apply(prev)
	if err != nil {
		t.Fatal(err)
	}
	assertSameState(t, applied, next)
}

func TestDiffFindsAMovedSocket(t *testing.T) {
	a := sock(9, 80, 1)
	b := sock(10, 81, 1)
	moved := a
	moved.LocalPort = 90 // same inode, now sorts after b
	d := Diff(snap(nil, []Socket{a, b}), snap(nil, []Socket{b, moved}))
	if len(d.SocketsChanged) != 1 || len(d.SocketsAdded) != 0 || len(d.SocketsRemoved) != 0 {
		t.Fatalf("moved socket: %+v", d)
	}
}

// TestDeltaAddresses checks that a delta carries the address list only when
// it changed, and that applying it gives the new list or keeps the old one.
func TestDeltaAddresses(t *testing.T) {
	a := []NetNSAddrs{{NetNSID: 1, Addrs: []Addr{{IP: "10.0.0.5", PrefixLen: 24, Interface: "eth0"}}}}
	b := []NetNSAddrs{{NetNSID: 1, Addrs: []Addr{{IP: "10.0.0.6", PrefixLen: 24, Interface: "eth0"}}}}
	cases := []struct {
		name       string
		prev, next []NetNSAddrs
		carried    bool
	}{
		{"none", nil, nil, false},
		{"first", nil, a, true},
		{"same", a, slices.Clone(a), false},
		{"changed", a, b, true},
		{"namespace added", a, append(slices.Clone(a), NetNSAddrs{NetNSID: 2, Addrs: []Addr{}}), true},
	}
	for _, c := range cases {
		prev := &Snapshot{Addresses: c.prev}
		next := &Snapshot{Addresses: c.next}
		d := Diff(prev, next)
		if got := d.Addresses != nil; got != c.carried {
			t.Errorf("%s: delta carries addresses = %v, want %v", c.name, got, c.carried)
		}
		if d.Empty() == c.carried {
			t.Errorf("%s: Empty() = %v with addresses carried = %v", c.name, d.Empty(), c.carried)
		}
		got, err := d.Apply(prev)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got.Addresses, c.next, equalNetNSAddrs) {
			t.Errorf("%s: applied addresses %v, want %v", c.name, got.Addresses, c.next)
		}
	}
}

// TestApplyInPlaceChain applies a chain of random deltas in place to one
// state, where additions, removals, changed owners and sockets whose sort
// position moves (a UDP socket that connects) come together, and checks
// each step against Apply on a copy and against the target state; a Clone
// taken before the chain must keep the first state.
func TestApplyInPlaceChain(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	state := synth(300, 3000, 5)
	held := state.Clone()
	for step := range 40 {
		next := churn(state, 1+r.IntN(10), uint64(step)+10)
		for range r.IntN(20) { // sockets that change and move
			i := r.IntN(len(next.Sockets))
			next.Sockets[i].RemotePort = uint16(r.IntN(65536))
			next.Sockets[i].PIDs = []int{next.Processes[r.IntN(len(next.Processes))].PID}
		}
		next.Sort()
		d := Diff(state, next)
		copied, err := d.Apply(state)
		if err != nil {
			t.Fatalf("step %d: Apply: %v", step, err)
		}
		if err := d.ApplyInPlace(state); err != nil {
			t.Fatalf("step %d: ApplyInPlace: %v", step, err)
		}
		assertSameState(t, state, next)
		assertSameState(t, copied, next)
	}
	assertSameState(t, held, synth(300, 3000, 5))
}

// TestApplyInPlaceRandomOps applies random deltas to small socket lists,
// so that every arrangement of removals, additions and changed elements
// (staying, moving forward or back, next to removed ones, at both ends)
// and every capacity case (shrinking, growing within the array, growing
// beyond it) comes up, and checks each result against the list rebuilt
// from a map and sorted.
func TestApplyInPlaceRandomOps(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for step := range 20_000 {
		n := r.IntN(12)
		base := make([]Socket, 0, n+r.IntN(4))
		want := map[uint64]Socket{}
		for i := range n {
			s := sock(uint64(i+1), uint16(r.IntN(20)), i)
			base = append(base, s)
			want[s.Inode] = s
		}
		slices.SortFunc(base, compareSockets)
		var d Delta
		for _, s := range base {
			switch r.IntN(4) {
			case 0:
				d.SocketsRemoved = append(d.SocketsRemoved, s.Inode)
				delete(want, s.Inode)
			case 1:
				s.LocalPort = uint16(r.IntN(20))
				s.PIDs = []int{r.IntN(9)}
				d.SocketsChanged = append(d.SocketsChanged, s)
				want[s.Inode] = s
			}
		}
		for i := range r.IntN(6) {
			s := sock(uint64(100+i), uint16(r.IntN(20)))
			d.SocketsAdded = append(d.SocketsAdded, s)
			want[s.Inode] = s
		}
		r.Shuffle(len(d.SocketsRemoved), func(i, j int) {
			d.SocketsRemoved[i], d.SocketsRemoved[j] = d.SocketsRemoved[j], d.SocketsRemoved[i]
		})
		wantList := slices.SortedFunc(maps.Values(want), compareSockets)
		equal := func(a, b []Socket) bool {
			return slices.EqualFunc(a, b, func(x, y Socket) bool { return equalSocket(&x, &y) })
		}
		s := &Snapshot{Sockets: slices.Clone(base)}
		copied, err := d.Apply(s)
		if err != nil {
			t.Fatalf("step %d: Apply: %v", step, err)
		}
		if !equal(s.Sockets, base) {
			t.Fatalf("step %d: Apply changed its base", step)
		}
		s.Sockets = base
		if err := d.ApplyInPlace(s); err != nil {
			t.Fatalf("step %d: ApplyInPlace: %v", step, err)
		}
		for name, got := range map[string][]Socket{"Apply": copied.Sockets, "ApplyInPlace": s.Sockets} {
			if !equal(got, wantList) {
				t.Fatalf("step %d: %s: %+v, want %+v", step, name, got, wantList)
			}
		}
		for _, x := range base[min(len(s.Sockets), len(base)):] {
			if x.PIDs != nil {
				t.Fatalf("step %d: a removed element past the list's end still holds %v", step, x.PIDs)
			}
		}
	}
}
