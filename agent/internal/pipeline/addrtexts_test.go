package pipeline

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestAddrTexts checks that addrTexts gives each address its own text,
// and the very string it made before (not a copy) for an address among
// the last two it formatted.
func TestAddrTexts(t *testing.T) {
	var texts addrTexts
	made := map[netip.Addr]*byte{}
	for i, step := range []struct {
		addr   string
		reused bool
	}{
		{"10.0.0.1", false},
		{"10.0.0.1", true},
		{"10.1.0.9", false},
		{"10.0.0.1", true},
		{"::1", false}, // the older of the two goes: 10.0.0.1
		{"10.1.0.9", true},
		{"::ffff:10.0.0.1", false}, // not 10.0.0.1
		{"10.0.0.1", false},
		{"::ffff:10.0.0.1", true},
	} {
		a := netip.MustParseAddr(step.addr)
		got := texts.text(a)
		if got != a.String() {
			t.Fatalf("step %d: text(%v) = %q", i, a, got)
		}
		if reused := made[a] == unsafe.StringData(got); reused != step.reused {
			t.Errorf("step %d: %v reused %v, want %v", i, a, reused, step.reused)
		}
		made[a] = unsafe.StringData(got)
	}
	var zero addrTexts
	if got := zero.text(netip.Addr{}); got != (netip.Addr{}).String() {
		t.Errorf("the zero Addr's text is %q", got)
	}
}
