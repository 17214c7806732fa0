package sockdiag

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/nlmsg"
)

// Query selects the sockets of one dump: one family and protocol, and the
// states whose bit is set in States (see States); the kernel skips the
// others before formatting anything.
type Query struct {
	// Family is unix.AF_INET or unix.AF_INET6. An AF_INET6 dump holds
	// only AF_INET6 sockets, dual-stack ones included.
	Family uint8
	// Proto is unix.IPPROTO_TCP or unix.IPPROTO_UDP.
	Proto uint8
	// States is the idiag_states bitmask; 0 selects nothing.
	States uint32
}

// recvBufLen is the size of a Conn's receive buffer. The kernel fills a
// dump's skb up to the largest recv the socket has seen, at most 32 KiB
// (netlink_recvmsg, netlink_dump), so a larger buffer changes nothing.
const recvBufLen = 32 << 10

// Conn is a NETLINK_SOCK_DIAG socket and the buffers of its dumps. It
// stays bound to the network namespace it was opened in (a netlink
// socket belongs to the namespace of its creation, wherever it is used
// from later), so one Conn per namespace serves every dump of that
// namespace. Dumps need no privilege: any user may dump the sockets of
// its namespace, as it may read /proc/net/tcp. A Conn serves one
// goroutine at a time; Dump allocates nothing.
type Conn struct {
	fd  int
	seq uint32
	req [nlHdrLen + diagReqLen]byte
	buf []byte
}

// Open opens a Conn in the network namespace of the calling thread.
func Open() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("open sock_diag netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind sock_diag netlink socket: %w", err)
	}
	return &Conn{fd: fd, buf: make([]byte, recvBufLen)}, nil
}

// Close closes the netlink socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Dump asks the kernel for the sockets that q selects (an
// inet_diag_req_v2 with NLM_F_DUMP, no extensions) and calls fn for each,
// in the kernel's hash order. An error names the query; a failed Dump
// leaves the Conn usable (the rest of its answer is skipped by the next
// Dump).
func (c *Conn) Dump(q Query, fn func(Socket)) error {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	encodeRequest(&c.req, c.seq, q)
	if err := c.dump(q, fn); err != nil {
		return fmt.Errorf("sock_diag dump %s: %w", q, err)
	}
	return nil
}

func (c *Conn) dump(q Query, fn func(Socket)) error {
	return nlmsg.Dump(c.fd, c.req[:], c.seq, c.buf, diagMsgs(q.Proto, fn))
}

// encodeRequest writes the SOCK_DIAG_BY_FAMILY dump request of q with
// sequence number seq: a struct nlmsghdr and a struct inet_diag_req_v2
// whose socket id is zero (no cookie: INET_DIAG_NOCOOKIE only matters to
// single-socket requests).
func encodeRequest(b *[nlHdrLen + diagReqLen]byte, seq uint32, q Query) {
	*b = [nlHdrLen + diagReqLen]byte{}
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], sockDiagMsg)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:], seq)
	r := b[nlHdrLen:]
	r[0], r[1] = q.Family, q.Proto // sdiag_family, sdiag_protocol; idiag_ext 0
	ne.PutUint32(r[4:], q.States)
}

// String names the query as ss would: "tcp4 states 0x400".
func (q Query) String() string {
	p := "tcp"
	switch q.Proto {
	case unix.IPPROTO_TCP:
	case unix.IPPROTO_UDP:
		p = "udp"
	default:
		p = fmt.Sprintf("proto %d", q.Proto)
	}
	v := "4"
	if q.Family == unix.AF_INET6 {
		v = "6"
	} else if q.Family != unix.AF_INET {
		v = fmt.Sprintf(" family %d", q.Family)
	}
	return fmt.Sprintf("%s%s states %#x", p, v, q.States)
}
