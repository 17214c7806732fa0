package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/nlmsg"
)

// Socket is one socket as the kernel describes it in an inet_diag_msg
// (include/uapi/linux/inet_diag.h, filled by inet_sk_diag_fill in
// net/ipv4/inet_diag.c). Its fields hold what /proc/net/{tcp,udp}{,6}
// print for the same socket, in the same form: ports in host order,
// addresses as netip.Addr with an IPv4-mapped IPv6 address unmapped to
// IPv4 (Family keeps the socket's family).
type Socket struct {
	// Local and Remote are the socket's addresses; Remote is the zero
	// address and port 0 for a listener or an unconnected UDP socket.
	Local, Remote netip.AddrPort
	// Cookie is the kernel's 64-bit socket cookie (sock_gen_cookie),
	// unique per boot and the same in dumps and destroy events.
	Cookie uint64
	// Inode is the socket's inode (the `socket:[N]` of /proc/PID/fd), 0 in
	// destroy events: the socket has left its file by then.
	Inode uint64
	// UID is the socket's owner (sock_i_uid) as seen from the user
	// namespace of the netlink socket's opener; 0 in destroy events, whose
	// message the kernel does not fill with it.
	UID uint32
	// Family is unix.AF_INET or unix.AF_INET6.
	Family uint8
	// Proto is unix.IPPROTO_TCP or unix.IPPROTO_UDP: the protocol the dump
	// asked for, or the INET_DIAG_PROTOCOL attribute of a destroy event.
	Proto uint8
	// State is the kernel's socket state (include/net/tcp_states.h;
	// UDP uses TCP_ESTABLISHED when connected and TCP_CLOSE otherwise).
	State uint8
}

// Kernel socket states (include/net/tcp_states.h) that callers filter on.
const (
	StateEstablished = 0x01
	StateTimeWait    = 0x06
	StateClose       = 0x07
	StateCloseWait   = 0x08
	StateListen      = 0x0A
)

// States returns the idiag_states bitmask that selects the given states.
func States(states ...uint8) uint32 {
	var m uint32
	for _, s := range states {
		m |= 1 << s
	}
	return m
}

// Layout of the messages (include/uapi/linux/netlink.h, inet_diag.h).
const (
	nlHdrLen    = nlmsg.HdrLen // struct nlmsghdr
	diagMsgLen  = 72           // struct inet_diag_msg
	diagReqLen  = 56           // struct inet_diag_req_v2
	attrProto   = 10           // INET_DIAG_PROTOCOL
	sockDiagMsg = unix.SOCK_DIAG_BY_FAMILY
)

// errMsg marks a message that is not in the kernel's format.
var errMsg = nlmsg.ErrMalformed

// parseDiagMsg parses the payload of one SOCK_DIAG_BY_FAMILY message: a
// struct inet_diag_msg and its attributes. Of the attributes only
// INET_DIAG_PROTOCOL is read; when absent, s.Proto is left as it is.
//
//	0 family, 1 state, 2 timer, 3 retrans,
//	4 sport (be16), 6 dport (be16), 8 src (16), 24 dst (16),
//	40 if (u32), 44 cookie (2 x u32, low word first),
//	52 expires, 56 rqueue, 60 wqueue, 64 uid, 68 inode (u32 each)
//
// Addresses are in network order, the words of the cookie and the u32
// fields in host order.
func parseDiagMsg(b []byte, s *Socket) error {
	if len(b) < diagMsgLen {
		return fmt.Errorf("%w: inet_diag_msg of %d bytes", errMsg, len(b))
	}
	s.Family, s.State = b[0], b[1]
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	var src, dst netip.Addr
	switch s.Family {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(b[8:12]))
		dst = netip.AddrFrom4([4]byte(b[24:28]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		dst = netip.AddrFrom16([16]byte(b[24:40])).Unmap()
	default:
		return fmt.Errorf("%w: family %d", errMsg, s.Family)
	}
	s.Local = netip.AddrPortFrom(src, sport)
	s.Remote = netip.AddrPortFrom(dst, dport)
	ne := binary.NativeEndian
	s.Cookie = uint64(ne.Uint32(b[44:])) | uint64(ne.Uint32(b[48:]))<<32
	s.UID = ne.Uint32(b[64:])
	s.Inode = uint64(ne.Uint32(b[68:]))
	return nlmsg.Attrs(b[diagMsgLen:], func(typ uint16, val []byte) {
		if typ == attrProto && len(val) > 0 {
			s.Proto = val[0]
		}
	})
}

// parseDump parses the netlink messages in b, one recv of a dump or of
// the destroy groups, and calls fn for each socket; proto is the Proto fn
// sees when a message does not carry one. Sequence numbers, NLMSG_DONE and
// errors are handled as nlmsg.Walk handles them. parseDump does not
// allocate.
func parseDump(b []byte, seq uint32, proto uint8, fn func(Socket)) (done bool, err error) {
	return nlmsg.Walk(b, seq, diagMsgs(proto, fn))
}

// diagMsgs returns the nlmsg callback that parses SOCK_DIAG_BY_FAMILY
// messages into Sockets for fn, with proto as their Proto when a message
// does not carry one, and skips other types.
func diagMsgs(proto uint8, fn func(Socket)) func(typ uint16, body []byte) error {
	return func(typ uint16, body []byte) error {
		if typ != sockDiagMsg {
			return nil
		}
		s := Socket{Proto: proto}
		if err := parseDiagMsg(body, &s); err != nil {
			return err
		}
		fn(s)
		return nil
	}
}
