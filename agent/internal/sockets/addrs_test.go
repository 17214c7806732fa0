package sockets

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/snapshot"
)

// TestAddressesReal collects the sockets of this process and of a helper in
// a new network namespace (loopback down: no address) over sock_diag, and
// checks that Addresses lists both namespaces, the host's with 127.0.0.1 on
// lo, returns the same slice while nothing changed, and drops the helper's
// namespace once it has no owner. Without sock_diag only the agent's own
// namespace is listed; on a fake tree nothing is.
func TestAddressesReal(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a network namespace (CLONE_NEWNET)")
	}
	hostNS := netNSOf(os.Getpid())
	child, _, _, _, childNS := startInNewNetNS(t)
	lo := snapshot.Addr{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}
	namespaces := func(l []snapshot.NetNSAddrs) []uint64 {
		var ns []uint64
		for _, n := range l {
			ns = append(ns, n.NetNSID)
		}
		return ns
	}
	wantSorted := func(a, b uint64) []uint64 {
		if a > b {
			a, b = b, a
		}
		return []uint64{a, b}
	}
	tests := []struct {
		name     string
		sockDiag bool
		both     []uint64 // namespaces listed with both owners
	}{
		{"sock_diag", true, wantSorted(hostNS, childNS)},
		{"proc text", false, []uint64{hostNS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Root: "/proc", SockDiag: tt.sockDiag}, hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			owners := []Owner{realOwner(t, os.Getpid()), realOwner(t, child)}
			if _, err := c.Collect(t.Context(), time.Now(), owners, true); err != nil {
				t.Fatal(err)
			}
			first := c.Addresses(true)
			if got := namespaces(first); !slices.Equal(got, tt.both) {
				t.Fatalf("namespaces %v, want %v", got, tt.both)
			}
			for _, n := range first {
				switch n.NetNSID {
				case hostNS:
					if !slices.Contains(n.Addrs, lo) {
						t.Errorf("host namespace's addresses %v lack %v", n.Addrs, lo)
					}
				case childNS:
					if len(n.Addrs) != 0 {
						t.Errorf("new namespace (loopback down) has addresses %v", n.Addrs)
					}
				}
			}
			if _, err := c.Collect(t.Context(), time.Now(), owners, false); err != nil {
				t.Fatal(err)
			}
			if again := c.Addresses(false); &again[0] != &first[0] {
				t.Errorf("unchanged addresses came in a new slice")
			}
			if _, err := c.Collect(t.Context(), time.Now(), owners[:1], false); err != nil {
				t.Fatal(err)
			}
			if got := namespaces(c.Addresses(false)); !slices.Equal(got, []uint64{hostNS}) {
				t.Errorf("without the helper: namespaces %v, want [%d]", got, hostNS)
			}
		})
	}
	fake := newCollector(t, t.TempDir(), 0)
	if got := fake.Addresses(true); got != nil {
		t.Errorf("a fake tree has addresses %v", got)
	}
}
