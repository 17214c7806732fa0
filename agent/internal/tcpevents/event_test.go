package tcpevents

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

// rawEvent lays out a struct event as bpf/tcpevents.c writes it.
func rawEvent(kind Kind, family uint16, src, dst netip.Addr, sport, dport uint16, pid uint32, comm string) []byte {
	b := make([]byte, eventSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], 4242)
	le.PutUint64(b[8:], 1_000_000_000)
	le.PutUint32(b[16:], 4026531840)
	le.PutUint32(b[20:], pid)
	s, d := src.As16(), dst.As16()
	if family == afInet {
		s4, d4 := src.As4(), dst.As4()
		copy(b[24:], s4[:])
		copy(b[40:], d4[:])
	} else {
		copy(b[24:], s[:])
		copy(b[40:], d[:])
	}
	le.PutUint16(b[56:], sport)
	le.PutUint16(b[58:], dport)
	le.PutUint16(b[60:], family)
	b[62] = byte(kind)
	copy(b[64:80], comm)
	return b
}

func TestDecode(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.1.9")
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.0.0.2")
	tests := []struct {
		name string
		raw  []byte
		want Event
	}{
		{"ipv4 connect", rawEvent(Connect, afInet, v4a, v4b, 40000, 443, 77, "curl"),
			Event{Kind: Connect, Family: afInet, SrcIP: v4a, DstIP: v4b, SrcPort: 40000, DstPort: 443, PID: 77, Comm: "curl"}},
		{"ipv6 accept with mapped peer", rawEvent(Accept, afInet6, v6a, v6b, 8080, 51000, 9, "nginx: worker pr"),
			Event{Kind: Accept, Family: afInet6, SrcIP: v6a, DstIP: v6b, SrcPort: 8080, DstPort: 51000, PID: 9, Comm: "nginx: worker pr"}},
		{"close without owner", rawEvent(Close, afInet, v4a, v4b, 1, 2, 0, ""),
			Event{Kind: Close, Family: afInet, SrcIP: v4a, DstIP: v4b, SrcPort: 1, DstPort: 2}},
	}
	d := decoder{bootOffset: 5_000_000_000}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Event
			if err := d.decode(tt.raw, &got); err != nil {
				t.Fatal(err)
			}
			tt.want.Cookie, tt.want.NetNS, tt.want.Time = 4242, 4026531840, time.Unix(6, 0)
			if got != tt.want {
				t.Errorf("decode:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	a := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name string
		raw  []byte
		is   error
	}{
		{"short record", make([]byte, eventSize-1), errShortRecord},
		{"unknown family", rawEvent(Listen, 1, a, a, 1, 1, 1, "x"), nil},
		{"unknown kind", rawEvent(9, afInet, a, a, 1, 1, 1, "x"), nil},
		{"kind zero", rawEvent(0, afInet, a, a, 1, 1, 1, "x"), nil},
	}
	var d decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Event
			err := d.decode(tt.raw, &e)
			if err == nil {
				t.Fatalf("decode(%x) = %+v, want an error", tt.raw, e)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("decode: %v, want %v", err, tt.is)
			}
		})
	}
}

// TestEventLayout checks the hand-written decoder against the struct that bpf2go generated
// from the C source.
func TestEventLayout(t *testing.T) {
	var e tcpeventsEvent
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(e), eventSize},
		{"cookie", unsafe.Offsetof(e.Cookie), 0},
		{"boot_ns", unsafe.Offsetof(e.BootNs), 8},
		{"netns", unsafe.Offsetof(e.Netns), 16},
		{"pid", unsafe.Offsetof(e.Pid), 20},
		{"saddr", unsafe.Offsetof(e.Saddr), 24},
		{"daddr", unsafe.Offsetof(e.Daddr), 40},
		{"sport", unsafe.Offsetof(e.Sport), 56},
		{"dport", unsafe.Offsetof(e.Dport), 58},
		{"family", unsafe.Offsetof(e.Family), 60},
		{"kind", unsafe.Offsetof(e.Kind), 62},
		{"comm", unsafe.Offsetof(e.Comm), 64},
	} {
		if f.got != f.want {
			t.Errorf("struct event %s at %d, the decoder uses %d", f.name, f.got, f.want)
		}
	}
}

func TestCommInterned(t *testing.T) {
	var d decoder
	raw := rawEvent(Listen, afInet, netip.IPv4Unspecified(), netip.IPv4Unspecified(), 80, 0, 1, "sshd")
	var e Event
	if allocs := testing.AllocsPerRun(100, func() { _ = d.decode(raw, &e) }); allocs != 0 {
		t.Errorf("decode of a known command name allocates %v times", allocs)
	}
	if e.Comm != "sshd" {
		t.Errorf("Comm = %q", e.Comm)
	}
}

func FuzzDecode(f *testing.F) {
	a4, a6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	// A well-formed IPv4 connect.
	f.Add(rawEvent(Connect, afInet, a4, a4, 1234, 80, 1, "curl"))
	// A well-formed IPv6 close.
	f.Add(rawEvent(Close, afInet6, a6, a6, 80, 1234, 0, ""))
	// A command name that fills all 16 bytes, with no NUL.
	f.Add(rawEvent(Accept, afInet, a4, a4, 80, 1234, 1, "0123456789abcdef"))
	// Too short by one byte.
	f.Add(make([]byte, eventSize-1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d decoder
		var e Event
		if err := d.decode(b, &e); err != nil {
			return
		}
		if e.Kind < Listen || e.Kind > Close || len(e.Comm) > 16 || !e.SrcIP.IsValid() || !e.DstIP.IsValid() {
			t.Errorf("decode(%x) accepted %+v", b, e)
		}
	})
}

// BenchmarkDecode measures the user-space side of each event: decoding one ring buffer
// record into an Event.
func BenchmarkDecode(b *testing.B) {
	recs := [][]byte{
		rawEvent(Connect, afInet, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.3.2.1"), 40000, 443, 77, "curl"),
		rawEvent(Accept, afInet6, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 443, 40000, 9, "nginx"),
		rawEvent(Close, afInet, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.3.2.1"), 40000, 443, 0, ""),
	}
	var d decoder
	var e Event
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := d.decode(recs[n%len(recs)], &e); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
