package snapshot

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"unsafe"
)

// rowCases are sockets a row must stand for exactly: both families, an
// IPv4-mapped IPv6 address kept as such, unspecified and invalid
// addresses, nil, empty and several PIDs, every name the table has.
var rowCases = []struct {
	proto         string
	local, remote netip.AddrPort
	state, role   string
	inode, netns  uint64
	pids          []int
}{
	{"tcp", netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:5000"), "ESTABLISHED", RoleServer, 1, 4026531840, []int{42}},
	{"tcp6", netip.MustParseAddrPort("[::1]:443"), netip.MustParseAddrPort("[::]:0"), "LISTEN", RoleServer, 1 << 40, 0, []int{1, 2, 3}},
	{"tcp6", netip.MustParseAddrPort("[::ffff:10.1.2.3]:8080"), netip.MustParseAddrPort("[2001:db8::1]:65535"), "CLOSE_WAIT", RoleClient, ^uint64(0), ^uint64(0), []int{}},
	{"udp", netip.MustParseAddrPort("0.0.0.0:53"), netip.MustParseAddrPort("0.0.0.0:0"), "CLOSE", RoleClient, 7, 9, nil},
	{"udp6", netip.AddrPortFrom(netip.Addr{}, 1), netip.AddrPortFrom(netip.Addr{}, 0), "UNKNOWN", "", 0, 0, []int{-1}},
	{"tcp", netip.MustParseAddrPort("255.255.255.255:65535"), netip.MustParseAddrPort("1.1.1.1:1"), "BOUND_INACTIVE", RoleServer, 3, 3, []int{9}},
}

// TestSocketRowStandsForItsSocket checks that a row gives back every field
// it was made of, and that its JSON is its Socket's, compact and indented.
func TestSocketRowStandsForItsSocket(t *testing.T) {
	if got := unsafe.Sizeof(SocketRow{}); got != 64 {
		t.Errorf("SocketRow is %d bytes, want 64", got)
	}
	for i, c := range rowCases {
		r := NewSocketRow(c.proto, c.local, c.remote, c.state, c.role, c.inode, c.netns, &c.pids)
		if r.Proto() != c.proto || r.Local() != c.local || r.Remote() != c.remote || r.State() != c.state || r.Role() != c.role {
			t.Errorf("case %d: row gives %s %v %v %s %s", i, r.Proto(), r.Local(), r.Remote(), r.State(), r.Role())
		}
		s := r.Socket()
		want := Socket{Proto: c.proto, LocalIP: c.local.Addr().String(), LocalPort: c.local.Port(),
			RemoteIP: c.remote.Addr().String(), RemotePort: c.remote.Port(), State: c.state, Role: c.role,
			Inode: c.inode, PIDs: c.pids, NetNSID: c.netns}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("case %d: Socket() = %+v, want %+v", i, s, want)
		}
		checkAppend(t, fmt.Sprint("case ", i), &s, func(b []byte, _ *Socket, indent string, depth int) []byte {
			return appendSocketRow(b, &r, indent, depth)
		})
	}
}

// TestSocketRowRefusesWhatItCannotHold checks that a name outside the
// table and a zoned address panic rather than change the socket.
func TestSocketRowRefusesWhatItCannotHold(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:80")
	for _, tt := range []struct {
		name          string
		proto, state  string
		local, remote netip.AddrPort
	}{
		{"proto", "sctp", "LISTEN", a, a},
		{"state", "tcp", "LISTENING", a, a},
		{"zone", "tcp6", "LISTEN", netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 1), a},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			NewSocketRow(tt.proto, tt.local, tt.remote, tt.state, RoleServer, 1, 1, nil)
		}()
	}
	if KnownSocketName("sctp") || !KnownSocketName("NEW_SYN_RECV") {
		t.Error("KnownSocketName disagrees with the table")
	}
}

// randomRows returns n rows drawn from few values per field, so that
// rows tie on every prefix of the sort key.
func randomRows(rng *rand.Rand, n int) []SocketRow {
	addrs := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("9.0.0.1"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("0.0.0.0"), {}}
	protos := []string{"tcp", "tcp6", "udp", "udp6"}
	states := []string{"LISTEN", "ESTABLISHED", "CLOSE"}
	roles := []string{RoleServer, RoleClient}
	rows := make([]SocketRow, n)
	for i := range rows {
		pids := []int{rng.IntN(3)}
		if rng.IntN(4) == 0 {
			pids = append(pids, 5)
		}
		rows[i] = NewSocketRow(protos[rng.IntN(len(protos))],
			netip.AddrPortFrom(addrs[rng.IntN(len(addrs))], uint16(rng.IntN(3))),
			netip.AddrPortFrom(addrs[rng.IntN(len(addrs))], uint16(rng.IntN(3))),
			states[rng.IntN(len(states))], roles[rng.IntN(len(roles))], uint64(rng.IntN(2*n)), uint64(rng.IntN(2)), &pids)
	}
	return rows
}

// TestRowOrderIsSocketOrder checks compareRows against compareSockets on
// every pair of a set of rows that tie on most fields.
func TestRowOrderIsSocketOrder(t *testing.T) {
	rows := randomRows(rand.New(rand.NewPCG(1, 2)), 200)
	for i := range rows {
		for j := range rows {
			a, b := rows[i], rows[j]
			got, want := compareRows(a, b), compareSockets(a.Socket(), b.Socket())
			if got != want {
				t.Fatalf("compareRows(%+v, %+v) = %d, compareSockets = %d", a.Socket(), b.Socket(), got, want)
			}
			if equalRow(&a, &b) != equalSocket(new(a.Socket()), new(b.Socket())) {
				t.Fatalf("equalRow and equalSocket disagree on %+v and %+v", a.Socket(), b.Socket())
			}
		}
	}
}

// TestDiffOfRowsIsDiffOfSockets checks that Diff gives the same delta for
// two states in rows as for the same states in Sockets, and for the mixed
// pairs, and that Apply and ApplyInPlace on a state of rows rebuild the
// next state.
func TestDiffOfRowsIsDiffOfSockets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		prev, next := uniqueRows(randomRows(rng, 60)), uniqueRows(randomRows(rng, 60))
		if round%5 == 0 {
			next = slices.Clone(prev)
			next[rng.IntN(len(next))].pids = &[]int{99}
		}
		if round == 1 {
			prev = nil
		}
		want := Diff(&Snapshot{Sockets: Sockets(prev)}, &Snapshot{Sockets: Sockets(next)})
		for _, pair := range [][2]*Snapshot{
			{{SocketRows: prev}, {SocketRows: next}},
			{{Sockets: Sockets(prev)}, {SocketRows: next}},
			{{SocketRows: prev}, {Sockets: Sockets(next)}},
		} {
			if got := Diff(pair[0], pair[1]); !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: Diff of rows\n got %+v\nwant %+v", round, got, want)
			}
		}
		applied, err := want.Apply(&Snapshot{SocketRows: prev})
		if err != nil {
			t.Fatalf("round %d: Apply: %v", round, err)
		}
		inPlace := &Snapshot{SocketRows: slices.Clone(prev)}
		if err := want.ApplyInPlace(inPlace); err != nil {
			t.Fatalf("round %d: ApplyInPlace: %v", round, err)
		}
		for _, got := range []*Snapshot{applied, inPlace} {
			if !slices.EqualFunc(got.Sockets, Sockets(next), func(a, b Socket) bool { return equalSocket(&a, &b) }) || got.SocketRows != nil {
				t.Fatalf("round %d: applying the delta to rows gives %+v, want %+v", round, got.Sockets, Sockets(next))
			}
		}
	}
	if d := Diff(&Snapshot{SocketRows: []SocketRow{}}, &Snapshot{SocketRows: []SocketRow{}}); !d.Empty() {
		t.Errorf("two empty row lists differ: %+v", d)
	}
}

// uniqueRows sorts rows and keeps one per inode, as a state holds them.
func uniqueRows(rows []SocketRow) []SocketRow {
	slices.SortFunc(rows, compareRows)
	seen := map[uint64]bool{}
	return slices.DeleteFunc(rows, func(r SocketRow) bool {
		dup := seen[r.Inode]
		seen[r.Inode] = true
		return dup
	})
}

// TestWriteJSONOfRows checks that a state in rows is written as the same
// state in Sockets, and that Validate finds a repeated inode among rows.
func TestWriteJSONOfRows(t *testing.T) {
	rows := uniqueRows(randomRows(rand.New(rand.NewPCG(5, 6)), 40))
	for _, rs := range [][]SocketRow{rows, {}, nil} {
		for _, indent := range []string{"", "  "} {
			var got, want bytes.Buffer
			if err := WriteJSON(&got, &Snapshot{SocketRows: rs}, indent); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&want, &Snapshot{Sockets: Sockets(rs)}, indent); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%d rows, indent %q:\n got %s\nwant %s", len(rs), indent, got.Bytes(), want.Bytes())
			}
		}
	}
	s := &Snapshot{SocketRows: append(slices.Clone(rows), rows[0])}
	if err := s.Validate(); err == nil {
		t.Error("Validate accepts an inode listed twice among rows")
	}
	if s.NumSockets() != len(rows)+1 {
		t.Errorf("NumSockets = %d, want %d", s.NumSockets(), len(rows)+1)
	}
}

// TestFindSocketRow checks FindSocketRow against FindSocket on the same
// state, for each socket it holds and for near misses.
func TestFindSocketRow(t *testing.T) {
	rows := uniqueRows(randomRows(rand.New(rand.NewPCG(7, 8)), 80))
	socks := Sockets(rows)
	probe := func(netns uint64, proto string, local, remote netip.AddrPort) {
		t.Helper()
		at, ok := FindSocketRow(rows, netns, proto, local, remote)
		wantAt, wantOK := FindSocket(socks, netns, proto, local, remote)
		if ok != wantOK || (ok && at != wantAt) {
			t.Errorf("%d %s %v %v: FindSocketRow = %d %v, FindSocket = %d %v", netns, proto, local, remote, at, ok, wantAt, wantOK)
		}
	}
	for i := range rows {
		r := &rows[i]
		probe(r.NetNSID, r.Proto(), r.Local(), r.Remote())
		probe(r.NetNSID+2, r.Proto(), r.Local(), r.Remote())
		probe(r.NetNSID, r.Proto(), netip.AddrPortFrom(r.Local().Addr(), 7), r.Remote())
	}
	probe(0, "sctp", netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.1:1"))
	probe(0, "tcp6", netip.MustParseAddrPort("[fe80::1%eth0]:1"), netip.MustParseAddrPort("[::1]:1"))
}

// FuzzSocketRow holds a row's JSON to encoding/json's of its Socket
// for any address bytes, ports, numbers and names of the table.
func FuzzSocketRow(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, uint16(80), []byte{}, uint16(0), uint8(1), uint8(14), uint8(19), uint64(1), uint64(2), 1)
	f.Add(bytes.Repeat([]byte{0xfe}, 16), uint16(1), bytes.Repeat([]byte{1}, 16), uint16(65535), uint8(2), uint8(5), uint8(20), ^uint64(0), uint64(0), -1)
	f.Fuzz(func(t *testing.T, local []byte, lport uint16, remote []byte, rport uint16, proto, state, role uint8, inode, netns uint64, npids int) {
		addr := func(b []byte) netip.Addr {
			a, _ := netip.AddrFromSlice(b)
			return a
		}
		name := func(i uint8) string { return socketNames[int(i)%len(socketNames)] }
		var pids []int
		if npids >= 0 {
			pids = make([]int, npids&7)
			for i := range pids {
				pids[i] = int(inode>>i) - i
			}
		}
		r := NewSocketRow(name(proto), netip.AddrPortFrom(addr(local), lport), netip.AddrPortFrom(addr(remote), rport),
			name(state), name(role), inode, netns, &pids)
		s := r.Socket()
		checkAppend(t, "row", &s, func(b []byte, _ *Socket, indent string, depth int) []byte {
			return appendSocketRow(b, &r, indent, depth)
		})
		if compareRows(r, r) != 0 || !equalRow(&r, &r) {
			t.Error("a row differs from itself")
		}
	})
}
