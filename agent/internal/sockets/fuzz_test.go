package sockets

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzParseTable checks that parseTable never panics, that whatever it
// accepts survives a round trip through the kernel's row format, and that
// every row parses the same with the fixed-layout fast path as field by
// field.
func FuzzParseTable(f *testing.F) {
	// A real tcp table: listener, established, time-wait with inode 0.
	f.Add([]byte(headerTCP+
		"   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 126 1 00000000185fd91b 100 0 0 10 0                       \n"+
		"   2: 0100007F:8D21 0100007F:A612 06 00000000:00000000 03:00001699 00000000     0        0 0 3 0000000009673bc0                                      \n"), false)
	// A real tcp6 table with a v4-mapped connection.
	f.Add([]byte(headerTCP6+
		"   2: 0000000000000000FFFF00000100007F:9629 0000000000000000FFFF00000100007F:D7A0 01 00000000:00000000 00:00000000 00000000     0        0 27735 1 0000000033bad5a7 20 0 0 10 -1\n"), true)
	// A real udp table whose slot numbers are wider than %5d.
	f.Add([]byte(headerUDP+
		"11400: 0100007F:9D1A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 27738 2 00000000c0e97612 0         \n"), false)
	// Header only, no rows.
	f.Add([]byte(headerTCP6), true)
	// A truncated row.
	f.Add([]byte(headerTCP+"   0: 0100007F:1F90 000"), false)
	// A row with a huge inode.
	f.Add([]byte(headerTCP+"   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 99999999999999999999\n"), false)
	// Columns two spaces apart, where the fast path must step aside.
	f.Add([]byte(headerTCP+"   0:  0100007F:1F90  00000000:0000  0A 0:0 0:0 0 0 0 7\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, v6 bool) {
		for i, row := range bytes.Split(data, []byte("\n")) {
			if i == 0 || len(row) == 0 {
				continue
			}
			var fast, slow parsedRow
			errFast := parseRowLayout(&fast, row, v6, true)
			errSlow := parseRowLayout(&slow, row, v6, false)
			if (errFast == nil) != (errSlow == nil) || (errFast == nil && fast != slow) {
				t.Fatalf("row %q: fast path %+v, %v; field by field %+v, %v", row, fast, errFast, slow, errSlow)
			}
		}
		got, err := parseTable(nil, data, v6)
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString(headerTCP)
		for i, e := range got {
			b.WriteString(formatRow(i, e, v6))
			b.WriteByte('\n')
		}
		again, err := parseTable(nil, []byte(b.String()), v6)
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		if !slices.Equal(got, again) {
			t.Fatalf("round trip changed the rows:\n%v\n%v", got, again)
		}
	})
}

// FuzzParseSocketLink checks that parseSocketLink never panics and accepts
// exactly `socket:[decimal]`.
func FuzzParseSocketLink(f *testing.F) {
	f.Add([]byte("socket:[27734]"))                // a socket
	f.Add([]byte("pipe:[27734]"))                  // a pipe
	f.Add([]byte("socket:[]"))                     // no inode
	f.Add([]byte("socket:[99999999999999999999]")) // overflows uint64
	f.Fuzz(func(t *testing.T, link []byte) {
		ino, ok := parseSocketLink(link)
		if !ok {
			return
		}
		digits := strings.TrimLeft(strings.TrimSuffix(strings.TrimPrefix(string(link), "socket:["), "]"), "0")
		if want := uitoa(ino); digits != want && (digits != "" || ino != 0) {
			t.Fatalf("parseSocketLink(%q) = %d, want digits %q", link, ino, digits)
		}
	})
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// FuzzCompareRows checks that compareRows orders two rows of a namespace
// as compare orders the Sockets made from them.
func FuzzCompareRows(f *testing.F) {
	f.Add(make([]byte, 80), make([]byte, 80))                                 // two equal all-zero rows
	f.Add(bytes.Repeat([]byte{0xff}, 80), make([]byte, 80))                   // extremes
	f.Add(append(make([]byte, 8), bytes.Repeat([]byte{1}, 72)...), []byte{1}) // short input, padded
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ga, ra := fuzzRow(a)
		gb, rb := fuzzRow(b)
		sa, sb := fuzzSocket(ga, ra), fuzzSocket(gb, rb)
		if got, want := compareRows(ga, ra, gb, rb), compare(sa, sb); got != want {
			t.Fatalf("compareRows orders %v vs %v as %d, compare says %d", sa, sb, got, want)
		}
	})
}

// fuzzRow decodes 80 bytes (zero-padded) into a row of a group of its
// own: table, families (IPv6 only in a *6 table), addresses, ports and
// inode (the first 8 bytes are unused: rows of a part share their
// namespace).
func fuzzRow(b []byte) (*nsGroup, *row) {
	var x [80]byte
	copy(x[:], b)
	be := binary.BigEndian
	tab := x[8] % 4
	v6 := tables[tab].v6
	addr := func(v6 bool, a []byte) netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte(a)).Unmap()
		}
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	r := parsedRow{e: entry{inode: be.Uint32(x[46:]) % 8}}
	r.set(false, endpointOf(netip.AddrPortFrom(addr(v6 && x[9]&1 == 1, x[10:26]), be.Uint16(x[26:]))))
	r.set(true, endpointOf(netip.AddrPortFrom(addr(v6 && x[9]&2 == 2, x[28:44]), be.Uint16(x[44:]))))
	g := new(nsGroup)
	g.tabs[tab].add(&r, v6, 0)
	return g, &row{entry: &g.tabs[tab].entries[0], rowTag: rowTag{tab: tab}}
}

func fuzzSocket(g *nsGroup, r *row) Socket {
	local, remote := g.endpoints(r)
	return Socket{Proto: r.table().name, Local: local.AddrPort(), Remote: remote.AddrPort(), Inode: uint64(r.inode)}
}
