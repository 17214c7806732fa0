package ifaddrs

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/nlmsg"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
	"github.com/proctag/proctag/agent/snapshot"
)

// newNetNS returns a new network namespace with its loopback up and a Conn
// opened in it; both are closed when the test ends.
func newNetNS(t *testing.T) (*loopconn.NetNS, *Conn) {
	t.Helper()
	ns, err := loopconn.NewNetNS()
	if err != nil {
		t.Fatalf("create a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := OpenNetNS(ns.NS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ns, c
}

// addAlias gives the namespace's loopback the IPv4 alias label (lo:N) with
// address ip and prefix length 24, as ifconfig does (SIOCSIFADDR,
// SIOCSIFNETMASK).
func addAlias(t *testing.T, ns *loopconn.NetNS, label string, ip [4]byte) {
	t.Helper()
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, set := range []struct {
			req  uint
			addr []byte
		}{{unix.SIOCSIFADDR, ip[:]}, {unix.SIOCSIFNETMASK, []byte{255, 255, 255, 0}}} {
			ifr, err := unix.NewIfreq(label)
			if err != nil {
				return err
			}
			if err := ifr.SetInet4Addr(set.addr); err != nil {
				return err
			}
			if err := unix.IoctlIfreq(fd, set.req, ifr); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add %s: %v", label, err)
	}
}

// hasIPv6 reports whether the kernel has IPv6 (lo then has ::1).
func hasIPv6() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}

// TestAddrsNetNS reads a new namespace's addresses: the loopback's, then an
// IPv4 alias with its label, in order, and the same slice while nothing
// changed.
func TestAddrsNetNS(t *testing.T) {
	ns, c := newNetNS(t)
	lo := []snapshot.Addr{{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}}
	if hasIPv6() {
		lo = append(lo, snapshot.Addr{IP: "::1", PrefixLen: 128, Interface: "lo"})
	}
	first, err := c.Addrs(false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, lo) {
		t.Fatalf("addresses %v, want %v", first, lo)
	}
	again, err := c.Addrs(false)
	if err != nil {
		t.Fatal(err)
	}
	if &again[0] != &first[0] {
		t.Errorf("an unchanged read returned a new slice")
	}
	addAlias(t, ns, "lo:7", [4]byte{10, 9, 8, 7})
	want := append([]snapshot.Addr{{IP: "10.9.8.7", PrefixLen: 24, Interface: "lo:7"}}, lo...)
	for _, relink := range []bool{false, true} {
		got, err := c.Addrs(relink)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("relink %v: addresses %v, want %v", relink, got, want)
		}
	}
}

// TestAddrsOwnNamespace reads the test process's own namespace, which has a
// loopback with 127.0.0.1 like every namespace whose lo is up.
func TestAddrsOwnNamespace(t *testing.T) {
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Addrs(false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, snapshot.Addr{IP: "127.0.0.1", PrefixLen: 8, Interface: "lo"}) {
		t.Errorf("own namespace's addresses %v lack 127.0.0.1/8 on lo", got)
	}
	if !slices.IsSortedFunc(got, func(a, b snapshot.Addr) int {
		return compareRaw(rawAddr{ip: mustParse(t, a.IP), name: a.Interface}, rawAddr{ip: mustParse(t, b.IP), name: b.Interface})
	}) {
		t.Errorf("addresses not sorted: %v", got)
	}
}

// TestAddrsSteadyAllocs checks that reading an unchanged namespace again
// allocates nothing.
func TestAddrsSteadyAllocs(t *testing.T) {
	_, c := newNetNS(t)
	if _, err := c.Addrs(false); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if _, err := c.Addrs(false); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("a steady read allocates %v times", n)
	}
}

// TestAddrsForged sends the Conn a well-formed RTM_NEWADDR answer with the
// sequence number of its next dump from another netlink socket before the
// dump: the address must not be believed, as it does not come from the
// kernel.
func TestAddrsForged(t *testing.T) {
	ns, c := newNetNS(t)
	if _, err := c.Addrs(false); err != nil {
		t.Fatal(err)
	}
	var sa unix.Sockaddr
	sa, err := unix.Getsockname(c.fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrNetlink).Pid
	forged := addrMsg(c.seq+1, unix.AF_INET, 32, 1, []byte{6, 6, 6, 6}, "lo")
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, forged, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: port})
	})
	if err != nil {
		t.Fatalf("send to the Conn's netlink port: %v", err)
	}
	got, err := c.Addrs(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.IP == "6.6.6.6" {
			t.Fatalf("believed a forged address: %v", got)
		}
	}
}

func mustParse(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// addrMsg frames an RTM_NEWADDR message with IFA_ADDRESS ip and IFA_LABEL
// label (when not "").
func addrMsg(seq uint32, family, prefix uint8, index uint32, ip []byte, label string) []byte {
	body := make([]byte, ifAddrLen)
	body[0], body[1] = family, prefix
	binary.NativeEndian.PutUint32(body[4:], index)
	body = appendAttr(body, ifaAddress, ip)
	if label != "" {
		body = appendAttr(body, ifaLabel, append([]byte(label), 0))
	}
	return frame(unix.RTM_NEWADDR, seq, body)
}

// linkMsg frames an RTM_NEWLINK message with IFLA_IFNAME name.
func linkMsg(seq uint32, index uint32, name string) []byte {
	body := make([]byte, ifInfoLen)
	binary.NativeEndian.PutUint32(body[4:], index)
	body = appendAttr(body, iflaIfname, append([]byte(name), 0))
	return frame(unix.RTM_NEWLINK, seq, body)
}

func appendAttr(b []byte, typ uint16, val []byte) []byte {
	n := nlmsg.AttrHdrLen + len(val)
	a := make([]byte, nlmsg.Align4(n))
	binary.NativeEndian.PutUint16(a, uint16(n))
	binary.NativeEndian.PutUint16(a[2:], typ)
	copy(a[nlmsg.AttrHdrLen:], val)
	return append(b, a...)
}

func frame(typ uint16, seq uint32, body []byte) []byte {
	n := nlmsg.HdrLen + len(body)
	b := make([]byte, nlmsg.Align4(n))
	ne := binary.NativeEndian
	ne.PutUint32(b, uint32(n))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_MULTI)
	ne.PutUint32(b[8:], seq)
	copy(b[nlmsg.HdrLen:], body)
	return b
}

// TestParse checks the message parsers on well-formed and malformed
// payloads.
func TestParse(t *testing.T) {
	v4 := addrMsg(1, unix.AF_INET, 24, 3, []byte{10, 0, 0, 5}, "eth0:1")[nlmsg.HdrLen:]
	v6 := addrMsg(1, unix.AF_INET6, 64, 4, []byte{0xfe, 0x80, 15: 1}, "")[nlmsg.HdrLen:]
	ptp := slices.Clone(v4)
	ptp = appendAttr(ptp, ifaLocal, []byte{192, 168, 1, 1})
	tests := []struct {
		name  string
		body  []byte
		ip    string // "" = invalid
		pfx   uint8
		index uint32
		label string
		err   bool
	}{
		{"ipv4 with label", v4, "10.0.0.5", 24, 3, "eth0:1", false},
		{"ipv6", v6, "fe80::1", 64, 4, "", false},
		{"point-to-point takes IFA_LOCAL", ptp, "192.168.1.1", 24, 3, "eth0:1", false},
		{"unknown family", append([]byte{99}, v4[1:]...), "", 24, 3, "eth0:1", false},
		{"address of the wrong length", addrMsg(1, unix.AF_INET6, 64, 4, []byte{1, 2, 3, 4}, "")[nlmsg.HdrLen:], "", 64, 4, "", false},
		{"ifaddrmsg cut short", v4[:5], "", 0, 0, "", true},
		{"attribute longer than the message", v4[:ifAddrLen+6], "", 0, 0, "", true},
	}
	for _, tt := range tests {
		a, label, err := parseAddr(tt.body)
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, nlmsg.ErrMalformed) {
				t.Errorf("%s: error %v is not ErrMalformed", tt.name, err)
			}
			continue
		}
		ip := ""
		if a.ip.IsValid() {
			ip = a.ip.String()
		}
		if ip != tt.ip || a.prefix != tt.pfx || a.index != tt.index || string(label) != tt.label {
			t.Errorf("%s: got %s/%d index %d label %q, want %s/%d index %d label %q", tt.name, ip, a.prefix, a.index, label, tt.ip, tt.pfx, tt.index, tt.label)
		}
	}
	index, name, err := parseLink(linkMsg(1, 7, "veth0")[nlmsg.HdrLen:])
	if err != nil || index != 7 || string(name) != "veth0" {
		t.Errorf("parseLink: %d %q %v", index, name, err)
	}
	if _, _, err := parseLink(make([]byte, 10)); !errors.Is(err, nlmsg.ErrMalformed) {
		t.Errorf("parseLink of a short ifinfomsg: %v", err)
	}
}

// FuzzParse feeds arbitrary payloads to both parsers, which must return an
// error or a result, never panic, and never give an address of a length
// other than the family's.
func FuzzParse(f *testing.F) {
	f.Add(addrMsg(1, unix.AF_INET, 24, 3, []byte{10, 0, 0, 5}, "eth0:1")[nlmsg.HdrLen:])
	f.Add(addrMsg(1, unix.AF_INET6, 64, 4, []byte{0xfe, 0x80, 15: 1}, "")[nlmsg.HdrLen:])
	f.Add(linkMsg(1, 7, "veth0")[nlmsg.HdrLen:])
	f.Fuzz(func(t *testing.T, body []byte) {
		if a, _, err := parseAddr(body); err == nil && a.ip.IsValid() {
			if a.ip.Is4() != (body[0] == unix.AF_INET) {
				t.Fatalf("family %d gave %v", body[0], a.ip)
			}
		}
		_, _, _ = parseLink(body)
		_, _ = nlmsg.Walk(body, 0, func(uint16, []byte) error { return nil })
	})
}
