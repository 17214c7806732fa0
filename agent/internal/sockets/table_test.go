package sockets

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// Rows captured from this machine's /proc/net tables (Linux 6.x, amd64),
// trailing padding included.
const (
	headerTCP  = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n"
	headerTCP6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	headerUDP  = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// ep is ap as a table row holds it.
func ep(s string) endpoint { return endpointOf(ap(s)) }

// rowOf is the parsed row of a socket from local to remote.
func rowOf(local, remote string, state uint8, uid, inode uint32) parsedRow {
	r := parsedRow{e: entry{state: state, uid: uid, inode: inode}}
	r.set(false, ep(local))
	r.set(true, ep(remote))
	return r
}

// String formats r for test failures.
func (r parsedRow) String() string {
	l, rm := r.e.endpoints(&r.a)
	return fmt.Sprintf("%v %v %s uid %d inode %d", l, rm, stateName(r.e.state), r.e.uid, r.e.inode)
}

func TestParseTable(t *testing.T) {
	tests := []struct {
		name string
		data string
		v6   bool
		want []parsedRow
	}{
		{
			name: "header only",
			data: headerTCP,
		},
		{
			name: "tcp listener, established and time-wait",
			data: headerTCP +
				"   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 126 1 00000000185fd91b 100 0 0 10 0                       \n" +
				"   1: 0100007F:D7A0 0100007F:9629 01 00000000:00000000 00:00000000 00000000     0        0 27734 2 00000000215c6038 20 0 0 10 -1                     \n" +
				"   2: 0100007F:8D21 0100007F:A612 06 00000000:00000000 03:00001699 00000000     0        0 0 3 0000000009673bc0                                      \n",
			want: []parsedRow{
				rowOf("0.0.0.0:2024", "0.0.0.0:0", stateListen, 0, 126),
				rowOf("127.0.0.1:55200", "127.0.0.1:38441", stateEstablished, 0, 27734),
				rowOf("127.0.0.1:36129", "127.0.0.1:42514", 0x06, 0, 0),
			},
		},
		{
			name: "tcp6 loopback, any and v4-mapped unmapped to IPv4",
			v6:   true,
			data: headerTCP6 +
				"   0: 00000000000000000000000001000000:C53D 00000000000000000000000000000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 27736 2 000000003facbb47 100 0 0 10 0\n" +
				"   1: 00000000000000000000000000000000:9629 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 27733 1 00000000539ce345 100 0 0 10 0\n" +
				"   2: 0000000000000000FFFF00000100007F:9629 0000000000000000FFFF00000100007F:D7A0 01 00000000:00000000 00:00000000 00000000     0        0 27735 1 0000000033bad5a7 20 0 0 10 -1\n",
			want: []parsedRow{
				rowOf("[::1]:50493", "[::]:0", stateListen, 0, 27736),
				rowOf("[::]:38441", "[::]:0", stateListen, 0, 27733),
				rowOf("127.0.0.1:38441", "127.0.0.1:55200", stateEstablished, 0, 27735),
			},
		},
		{
			name: "tcp6 global address word order, uid",
			v6:   true,
			// 2001:db8::1 is the words 2001:0db8, 0, 0, 0000:0001, each printed
			// as a little-endian u32.
			data: headerTCP6 +
				"   0: B80D0120000000000000000001000000:0050 B80D0120000000000000000002000000:C350 01 00000000:00000000 00:00000000 00000000  1000        0 42 1 0000000000000000 20 4 30 10 -1\n",
			want: []parsedRow{
				rowOf("[2001:db8::1]:80", "[2001:db8::2]:50000", stateEstablished, 1000, 42),
			},
		},
		{
			name: "udp slots wider than the padding, bound and connected",
			data: headerUDP +
				"11400: 0100007F:9D1A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 27738 2 00000000c0e97612 0         \n" +
				"13701: 0100007F:A617 0100007F:9D1A 01 00000000:00000000 00:00000000 00000000     0        0 27739 2 000000006fcd3861 0         \n",
			want: []parsedRow{
				rowOf("127.0.0.1:40218", "0.0.0.0:0", stateClose, 0, 27738),
				rowOf("127.0.0.1:42519", "127.0.0.1:40218", stateEstablished, 0, 27739),
			},
		},
		{
			name: "last row without newline and lower-case hex",
			data: headerTCP + "   0: 0100007f:1f90 00000000:0000 0a 00000000:00000000 00:00000000 00000000     0        0 7",
			want: []parsedRow{rowOf("127.0.0.1:8080", "0.0.0.0:0", stateListen, 0, 7)},
		},
		{
			name: "empty lines are skipped",
			data: headerTCP + "\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7\n\n",
			want: []parsedRow{rowOf("127.0.0.1:8080", "0.0.0.0:0", stateListen, 0, 7)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTable(nil, []byte(tt.data), tt.v6)
			if err != nil {
				t.Fatalf("parseTable: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseTable =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestParseTableErrors(t *testing.T) {
	const good = "0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7"
	tests := []struct {
		name, row, wantErr string
		v6                 bool
	}{
		{name: "no slot colon", row: "   0 " + good, wantErr: "line 2: malformed socket table row: slot"},
		{name: "IPv6 row in an IPv4 table", row: "   0: 00000000000000000000000001000000:C53D 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 1", wantErr: "local address"},
		{name: "IPv4 row in an IPv6 table", row: "   0: " + good, v6: true, wantErr: "local address"},
		{name: "bad hex in remote", row: "   0: 0100007F:1F90 0000000G:0000 0A 0:0 0:0 0 0 0 1", wantErr: "remote address"},
		{name: "short port", row: "   0: 0100007F:1F9 00000000:0000 0A 0:0 0:0 0 0 0 1", wantErr: "local address"},
		{name: "three digit state", row: "   0: 0100007F:1F90 00000000:0000 0A0 0:0 0:0 0 0 0 1", wantErr: "state"},
		{name: "missing inode", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0", wantErr: "inode"},
		{name: "too few columns", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0", wantErr: "too few columns"},
		{name: "uid not a number", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 -1 0 1", wantErr: "uid"},
		{name: "uid over 32 bits", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 4294967296 0 1", wantErr: "uid"},
		{name: "negative inode", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 -1", wantErr: "inode"},
		{name: "inode over 32 bits, which no kernel socket has", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 4294967296", wantErr: "inode"},
		{name: "inode overflows", row: "   0: 0100007F:1F90 00000000:0000 0A 0:0 0:0 0 0 0 18446744073709551616", wantErr: "inode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTable(nil, []byte(headerTCP+tt.row+"\n"), tt.v6)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseTable error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		link string
		want uint64
		ok   bool
	}{
		{"socket:[27734]", 27734, true},
		{"socket:[18446744073709551615]", 1<<64 - 1, true},
		{"socket:[]", 0, false},
		{"socket:[12", 0, false},
		{"pipe:[27734]", 0, false},
		{"anon_inode:[eventfd]", 0, false},
		{"/dev/null", 0, false},
		{"socket:[1a]", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.link, func(t *testing.T) {
			got, ok := parseSocketLink([]byte(tt.link))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseSocketLink(%q) = %d, %v, want %d, %v", tt.link, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestStateName(t *testing.T) {
	for st, want := range map[uint8]string{0x01: "ESTABLISHED", 0x07: "CLOSE", 0x0A: "LISTEN", 0x06: "TIME_WAIT", 0x00: "UNKNOWN", 0xFF: "UNKNOWN"} {
		if got := stateName(st); got != want {
			t.Errorf("stateName(%#x) = %q, want %q", st, got, want)
		}
	}
}

// formatRow prints e in the kernel's format (tcp4_seq_show / tcp6 /
// udp4_format_sock), for round trips.
func formatRow(slot int, r parsedRow, v6 bool) string {
	local, remote := r.e.endpoints(&r.a)
	return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 100 0 0 10 0",
		slot, formatAddr(local.AddrPort(), v6), formatAddr(remote.AddrPort(), v6), r.e.state, r.e.uid, r.e.inode)
}

func formatAddr(a netip.AddrPort, v6 bool) string {
	if !v6 {
		b := a.Addr().As4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", b[3], b[2], b[1], b[0], a.Port())
	}
	b := a.Addr().As16()
	var s strings.Builder
	for w := range 4 {
		fmt.Fprintf(&s, "%02X%02X%02X%02X", b[w*4+3], b[w*4+2], b[w*4+1], b[w*4])
	}
	fmt.Fprintf(&s, ":%04X", a.Port())
	return s.String()
}

// TestReadTableChunks reads a table through buffers of several sizes, so
// that rows cross chunk boundaries and outgrow the buffer, and checks that
// the rows are those parseTable finds in the whole file.
func TestReadTableChunks(t *testing.T) {
	data := headerTCP +
		"   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 126 1 00000000185fd91b 100 0 0 10 0                       \n" +
		"   1: 0100007F:D7A0 0100007F:9629 01 00000000:00000000 00:00000000 00000000     0        0 27734 2 00000000215c6038 20 0 0 10 -1                     \n" +
		"\n" +
		"   2: 0100007F:8D21 0100007F:A612 06 00000000:00000000 03:00001699 00000000     0        0 0 3 0000000009673bc0" // no final newline
	want, err := parseTable(nil, []byte(data), false)
	if err != nil || len(want) != 3 {
		t.Fatalf("parseTable: %d rows, %v", len(want), err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "7", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "7", "net", "tcp"), []byte(data), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 150, 151, 300, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			r := newReader(dir)
			r.buf = make([]byte, size)
			var got []parsedRow
			if err := r.readTable(7, &tables[0], func(r *parsedRow) { got = append(got, *r) }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("rows =\n%v\nwant\n%v", got, want)
			}
		})
	}
	t.Run("a line longer than maxLine is refused, not read whole", func(t *testing.T) {
		long := filepath.Join(dir, "7", "net", "tcp6")
		if err := os.WriteFile(long, []byte(headerTCP+strings.Repeat("0", 4*maxLine)+"\n"), 0o444); err != nil {
			t.Fatal(err)
		}
		r := newReader(dir)
		r.buf = make([]byte, 7)
		err := r.readTable(7, &tables[1], func(*parsedRow) {})
		if !errors.Is(err, errRow) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("error %v, want a malformed line 2", err)
		}
		if len(r.buf) > maxLine {
			t.Errorf("buffer grew to %d bytes, more than maxLine (%d)", len(r.buf), maxLine)
		}
	})
	t.Run("parse error names the file", func(t *testing.T) {
		bad := filepath.Join(dir, "7", "net", "udp")
		if err := os.WriteFile(bad, []byte(headerUDP+"   0: nonsense\n"), 0o444); err != nil {
			t.Fatal(err)
		}
		err := newReader(dir).readTable(7, &tables[2], func(*parsedRow) {})
		if err == nil || !strings.Contains(err.Error(), "parse "+bad+": line 2:") {
			t.Errorf("error %v, want it to name %s and line 2", err, bad)
		}
	})
}

// TestRowBufAddHint checks that a table's size sizes the row buffers,
// that a size no real table has (a sparse file) is believed only up to
// maxRowsHint, and that a *6 table's addresses grow with its entries.
func TestRowBufAddHint(t *testing.T) {
	r := rowOf("[2001:db8::1]:80", "[2001:db8::2]:50000", stateEstablished, 0, 1)
	for _, v6 := range []bool{false, true} {
		for _, tt := range []struct {
			rows    int64
			wantCap int
		}{
			{0, 64}, {10, 64}, {1000, 1000}, {1 << 40, maxRowsHint},
		} {
			var b rowBuf
			b.add(&r, v6, tt.rows)
			es := b.entries
			if len(es) != 1 || cap(es) < tt.wantCap || cap(es) > 2*tt.wantCap { // the allocator rounds up to a size class
				t.Errorf("v6 %v rows %d: len %d cap %d, want 1 and about %d", v6, tt.rows, len(es), cap(es), tt.wantCap)
			}
			checkAddrs(t, &b, v6)
		}
		b := rowBuf{entries: make([]entry, 100, 100)}
		if v6 {
			b.addrs = make([]addrs6, 100, 100)
		}
		b.add(&r, v6, 0)
		if cap(b.entries) < 200 {
			t.Errorf("v6 %v: a full buffer without a hint grew to %d, want it doubled", v6, cap(b.entries))
		}
		checkAddrs(t, &b, v6)
	}
}

// checkAddrs checks that b has addresses for its rows exactly when it is
// of a *6 table, with room for as many rows as its entries.
func checkAddrs(t *testing.T, b *rowBuf, v6 bool) {
	t.Helper()
	switch {
	case !v6 && b.addrs != nil:
		t.Errorf("a table of IPv4 holds %d addresses", len(b.addrs))
	case v6 && (len(b.addrs) != len(b.entries) || cap(b.addrs) < cap(b.entries)):
		t.Errorf("addresses len %d cap %d, entries len %d cap %d", len(b.addrs), cap(b.addrs), len(b.entries), cap(b.entries))
	}
}

// TestRowBufFit checks that buffers with more spare room than a quarter
// of their rows are moved to ones an eighth longer, rows and addresses in
// place, and that ones with less are kept as they are.
func TestRowBufFit(t *testing.T) {
	for _, tt := range []struct {
		len, cap int
		moved    bool
	}{
		{0, 0, false}, {0, 64, false}, {0, 65, true}, {10, 76, false}, {10, 77, true},
		{1000, 1314, false}, {1000, 1315, true}, {100000, 200000, true},
	} {
		b := rowBuf{entries: make([]entry, tt.len, tt.cap), addrs: make([]addrs6, tt.len, tt.cap)}
		for i := range b.entries {
			b.entries[i].inode = uint32(i + 1)
			b.addrs[i][1][0] = byte(i + 1)
		}
		got := b.fit()
		moved := cap(got.entries) != cap(b.entries)
		if moved != tt.moved || len(got.entries) != tt.len {
			t.Errorf("len %d cap %d: got len %d cap %d, want moved %v", tt.len, tt.cap, len(got.entries), cap(got.entries), tt.moved)
			continue
		}
		if moved && (cap(got.entries) < tt.len+tt.len/8 || cap(got.entries)-tt.len > tt.len/4+64) {
			t.Errorf("len %d cap %d: moved to cap %d, want about %d", tt.len, tt.cap, cap(got.entries), tt.len+tt.len/8)
		}
		checkAddrs(t, &got, true)
		for i := range got.entries {
			if got.entries[i].inode != uint32(i+1) || got.addrs[i][1][0] != byte(i+1) {
				t.Fatalf("len %d cap %d: row %d holds inode %d", tt.len, tt.cap, i, got.entries[i].inode)
			}
		}
	}
}

// TestPerSocketSizes checks the sizes of what the collector keeps per
// socket on the host: a sock and its table row always (a row of a *6 table
// with its 32 bytes of addresses beside), a row while it joins.
func TestPerSocketSizes(t *testing.T) {
	for _, tt := range []struct {
		what      string
		size, max uintptr
	}{
		{"sock", unsafe.Sizeof(sock{}), 24},
		{"row", unsafe.Sizeof(row{}), 24},
		{"table row", unsafe.Sizeof(entry{}), 24},
	} {
		if tt.size > tt.max {
			t.Errorf("a %s takes %d bytes, want at most %d", tt.what, tt.size, tt.max)
		}
	}
}

// TestEndpointRoundTrip checks that a row's endpoint gives back the
// netip.AddrPort it was made from, IPv4, IPv6, IPv4-mapped IPv6 (which a
// sock_diag dump may give) and the zero value alike, and that these stay
// apart.
func TestEndpointRoundTrip(t *testing.T) {
	seen := map[endpoint]netip.AddrPort{}
	for _, a := range []netip.AddrPort{
		ap("127.0.0.1:8080"), ap("0.0.0.0:0"), ap("[::1]:53"), ap("[::]:0"),
		ap("[::ffff:127.0.0.1]:8080"), ap("[2001:db8::1]:65535"), {},
	} {
		e := endpointOf(a)
		if got := e.AddrPort(); got != a {
			t.Errorf("endpointOf(%v).AddrPort() = %v", a, got)
		}
		if other, dup := seen[e]; dup {
			t.Errorf("%v and %v have the same endpoint", a, other)
		}
		seen[e] = a
	}
}
