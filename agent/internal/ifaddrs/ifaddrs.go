// Package ifaddrs reads the interface addresses of a network namespace over
// rtnetlink: an RTM_GETADDR dump for the addresses and, to name the
// interfaces of IPv6 addresses (which carry no label), an RTM_GETLINK dump
// whenever an address names an interface index it does not know. A Conn is
// bound to the namespace it was opened in, so one Conn per namespace serves
// every later read from any thread; reads need no privilege.
package ifaddrs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/nlmsg"
	"github.com/proctag/proctag/agent/internal/osthread"
	"github.com/proctag/proctag/agent/snapshot"
)

// Layout of the messages (include/uapi/linux/rtnetlink.h, if_addr.h,
// if_link.h).
const (
	ifInfoLen = 16 // struct ifinfomsg
	ifAddrLen = 8  // struct ifaddrmsg
	attrLen   = 8  // one u32 attribute: struct rtattr and its value

	iflaIfname  = 3  // IFLA_IFNAME
	iflaExtMask = 29 // IFLA_EXT_MASK
	ifaAddress  = 1  // IFA_ADDRESS
	ifaLocal    = 2  // IFA_LOCAL
	ifaLabel    = 3  // IFA_LABEL
	// rtextFilterSkipStats (RTEXT_FILTER_SKIP_STATS) keeps the link
	// statistics out of an RTM_GETLINK dump, which needs only names.
	rtextFilterSkipStats = 1 << 3
)

// bufLen is the receive buffer: the kernel fills a dump's skb up to the
// largest recv the socket has seen (at most 32 KiB for these dumps), or more
// for one link message that needs it.
const bufLen = 64 << 10

// Conn is a NETLINK_ROUTE socket, the interface names it has learnt and the
// last addresses it read. A Conn serves one goroutine at a time.
type Conn struct {
	fd    int
	seq   uint32
	req   []byte
	buf   []byte
	names map[uint32]string
	// raw collects one read; lastRaw and last are the previous read and
	// the list Addrs returned for it.
	raw, lastRaw []rawAddr
	last         []snapshot.Addr
}

// rawAddr is one address as read, before it is formatted.
type rawAddr struct {
	ip     netip.Addr
	prefix uint8
	index  uint32
	name   string // the interface's name, or the IPv4 label (eth0:1)
}

func compareRaw(a, b rawAddr) int {
	if c := a.ip.Compare(b.ip); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// Open opens a Conn in the network namespace of the calling thread.
func Open() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind rtnetlink socket: %w", err)
	}
	return &Conn{fd: fd, buf: make([]byte, bufLen), names: make(map[uint32]string)}, nil
}

// OpenNetNS opens a Conn in the network namespace that ns (an open
// /proc/PID/ns/net) refers to, from a thread that enters it and comes back
// (osthread.InNetNS); entering needs CAP_SYS_ADMIN over the namespace.
func OpenNetNS(ns int) (*Conn, error) { return osthread.OpenInNetNS(ns, Open) }

// Close closes the netlink socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Addrs returns every address of every interface of the Conn's namespace
// (what `ip address` lists), sorted by IP, IPv4 before IPv6, then interface
// name (an IPv4 address's label, such as eth0:1, where it has one). When
// the list equals the one the last call returned, that same slice is
// returned, so that a caller can tell "unchanged" by identity; callers must
// not modify it. relink reads the interface names again even when every
// index is known (an index may have been given to a new interface). A
// steady read allocates nothing.
func (c *Conn) Addrs(relink bool) ([]snapshot.Addr, error) {
	if relink {
		clear(c.names)
	}
	c.raw = c.raw[:0]
	unnamed := false
	err := c.dump(unix.RTM_GETADDR, func(body []byte) error {
		a, label, err := parseAddr(body)
		if err != nil || !a.ip.IsValid() {
			return err
		}
		name, known := c.names[a.index]
		if !known {
			unnamed = true // its interface's name is read below
		}
		if label != nil && name != string(label) {
			name = string(label) // an alias (eth0:1), or a new interface
		}
		a.name = name
		c.raw = append(c.raw, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink address dump: %w", err)
	}
	if unnamed {
		if err := c.readNames(); err != nil {
			return nil, err
		}
		for i := range c.raw {
			if c.raw[i].name == "" {
				c.raw[i].name = c.names[c.raw[i].index]
			}
		}
	}
	slices.SortFunc(c.raw, compareRaw)
	if c.last != nil && slices.Equal(c.raw, c.lastRaw) {
		return c.last, nil
	}
	out := make([]snapshot.Addr, len(c.raw))
	for i, a := range c.raw {
		out[i] = snapshot.Addr{IP: a.ip.String(), PrefixLen: int(a.prefix), Interface: a.name}
	}
	c.raw, c.lastRaw = c.lastRaw, c.raw
	c.last = out
	return out, nil
}

// readNames reads every interface's name (RTM_GETLINK dump).
func (c *Conn) readNames() error {
	err := c.dump(unix.RTM_GETLINK, func(body []byte) error {
		index, name, err := parseLink(body)
		if err != nil || name == nil {
			return err
		}
		if old, ok := c.names[index]; !ok || old != string(name) {
			c.names[index] = string(name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rtnetlink link dump: %w", err)
	}
	return nil
}

// dump sends a dump request of type typ for every family and passes the
// payload of each answer message of the matching new-type to fn.
func (c *Conn) dump(typ uint16, fn func(body []byte) error) error {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	c.req = encodeRequest(c.req[:0], typ, c.seq)
	want := uint16(unix.RTM_NEWADDR)
	if typ == unix.RTM_GETLINK {
		want = unix.RTM_NEWLINK
	}
	return nlmsg.Dump(c.fd, c.req, c.seq, c.buf, func(t uint16, body []byte) error {
		if t != want {
			return nil
		}
		return fn(body)
	})
}

// encodeRequest appends to b the dump request of type typ (RTM_GETADDR or
// RTM_GETLINK) for every family: a struct nlmsghdr and a zero struct
// ifaddrmsg, or a struct ifinfomsg with IFLA_EXT_MASK asking the kernel to
// leave out the statistics.
func encodeRequest(b []byte, typ uint16, seq uint32) []byte {
	n := nlmsg.HdrLen + ifAddrLen
	if typ == unix.RTM_GETLINK {
		n = nlmsg.HdrLen + ifInfoLen + attrLen
	}
	b = append(b, make([]byte, n)...)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(n))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:], seq)
	if typ == unix.RTM_GETLINK {
		a := b[nlmsg.HdrLen+ifInfoLen:]
		ne.PutUint16(a[0:], attrLen)
		ne.PutUint16(a[2:], iflaExtMask)
		ne.PutUint32(a[4:], rtextFilterSkipStats)
	}
	return b
}

// parseAddr parses the payload of an RTM_NEWADDR message: a struct
// ifaddrmsg (0 family, 1 prefixlen, 2 flags, 3 scope, 4 index u32) and its
// attributes. The address is IFA_LOCAL when present (on a point-to-point
// link IFA_ADDRESS is the peer's), else IFA_ADDRESS; an address of another
// family than AF_INET and AF_INET6, or none, is returned invalid. label is
// IFA_LABEL (IPv4 only), pointing into body.
func parseAddr(body []byte) (a rawAddr, label []byte, err error) {
	if len(body) < ifAddrLen {
		return a, nil, fmt.Errorf("%w: ifaddrmsg of %d bytes", nlmsg.ErrMalformed, len(body))
	}
	family := body[0]
	a.prefix = body[1]
	a.index = binary.NativeEndian.Uint32(body[4:])
	var addr, local []byte
	err = nlmsg.Attrs(body[ifAddrLen:], func(typ uint16, val []byte) {
		switch typ {
		case ifaAddress:
			addr = val
		case ifaLocal:
			local = val
		case ifaLabel:
			label = cstring(val)
		}
	})
	if err != nil {
		return a, nil, err
	}
	if local != nil {
		addr = local
	}
	switch {
	case family == unix.AF_INET && len(addr) == 4:
		a.ip = netip.AddrFrom4([4]byte(addr))
	case family == unix.AF_INET6 && len(addr) == 16:
		a.ip = netip.AddrFrom16([16]byte(addr))
	}
	return a, label, nil
}

// parseLink parses the payload of an RTM_NEWLINK message: a struct
// ifinfomsg (4 index i32) and its attributes, of which IFLA_IFNAME is read.
// name points into body; it is nil when the message has none.
func parseLink(body []byte) (index uint32, name []byte, err error) {
	if len(body) < ifInfoLen {
		return 0, nil, fmt.Errorf("%w: ifinfomsg of %d bytes", nlmsg.ErrMalformed, len(body))
	}
	index = binary.NativeEndian.Uint32(body[4:])
	err = nlmsg.Attrs(body[ifInfoLen:], func(typ uint16, val []byte) {
		if typ == iflaIfname {
			name = cstring(val)
		}
	})
	return index, name, err
}

// cstring cuts b at its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
