package tcpevents

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Kind says what happened to a socket.
type Kind uint8

// The kinds of Event. The values match the KIND_ constants of bpf/tcpevents.c.
const (
	// Listen: listen() succeeded; PID is the caller.
	Listen Kind = 1
	// Connect: a socket from connect() reached ESTABLISHED; PID is the caller of connect().
	Connect Kind = 2
	// Accept: accept() returned the socket; PID is the caller of accept(), which need not
	// be the process that created the listener.
	Accept Kind = 3
	// Close: a socket that had been listening or established reached TCP_CLOSE. PID is 0:
	// the transition often runs in softirq context, where the current task is unrelated.
	Close Kind = 4
)

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case Listen:
		return "listen"
	case Connect:
		return "connect"
	case Accept:
		return "accept"
	case Close:
		return "close"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one socket event. Src is the local end and Dst the remote end, from the point
// of view of the socket reported (for an Accept, Src is the listening address). A listener
// has an unspecified Dst with port 0.
type Event struct {
	Kind Kind
	// Cookie is the kernel's socket cookie (SO_COOKIE): unique per socket for the life of
	// the host, the key that joins an open with its Close. An Accept of a socket that
	// was already established before Open may carry 0.
	Cookie uint64
	// NetNS is the inode number of the socket's network namespace, as in
	// /proc/PID/ns/net.
	NetNS uint32
	// Family is AF_INET (2) or AF_INET6 (10). An IPv6 socket carries IPv4-mapped
	// addresses for IPv4 peers.
	Family  uint16
	SrcIP   netip.Addr
	SrcPort uint16
	DstIP   netip.Addr
	DstPort uint16
	// PID is the thread-group id (the process id) of the owner: the caller of listen(),
	// connect() or accept(). It is 0 for Close, and for a Connect whose connect() ran
	// before Open.
	PID uint32
	// Comm is the owning thread's name (/proc/PID/task/TID/comm), empty for Close.
	Comm string
	// Time is when the kernel saw the event, converted from CLOCK_BOOTTIME at Open.
	Time time.Time
}

// eventSize is sizeof(struct event) in bpf/tcpevents.c.
const eventSize = 80

// Address families, as in <sys/socket.h>.
const (
	afInet  = 2
	afInet6 = 10
)

// errShortRecord is returned for a ring buffer record that is not a struct event.
var errShortRecord = errors.New("short event record")

// decoder turns ring buffer records into Events. It interns command names so that a
// steady stream of events from the same processes does not allocate. Not safe for
// concurrent use.
type decoder struct {
	// bootOffset is wall-clock time minus CLOCK_BOOTTIME, in nanoseconds.
	bootOffset int64
	comms      map[[16]byte]string
}

// maxComms bounds the interned command names; the cache starts over when it is full.
const maxComms = 4096

// decode parses one struct event, laid out as bpf/tcpevents.c defines it (little-endian:
// the object is built for bpfel only).
func (d *decoder) decode(b []byte, e *Event) error {
	if len(b) < eventSize {
		return fmt.Errorf("%w: %d bytes, want %d", errShortRecord, len(b), eventSize)
	}
	le := binary.LittleEndian
	family := le.Uint16(b[60:])
	var src, dst netip.Addr
	switch family {
	case afInet:
		src = netip.AddrFrom4([4]byte(b[24:28]))
		dst = netip.AddrFrom4([4]byte(b[40:44]))
	case afInet6:
		src = netip.AddrFrom16([16]byte(b[24:40]))
		dst = netip.AddrFrom16([16]byte(b[40:56]))
	default:
		return fmt.Errorf("event with address family %d", family)
	}
	kind := Kind(b[62])
	if kind < Listen || kind > Close {
		return fmt.Errorf("event of unknown kind %d", kind)
	}
	*e = Event{
		Kind:    kind,
		Cookie:  le.Uint64(b[0:]),
		Time:    time.Unix(0, d.bootOffset+int64(le.Uint64(b[8:]))),
		NetNS:   le.Uint32(b[16:]),
		PID:     le.Uint32(b[20:]),
		SrcIP:   src,
		DstIP:   dst,
		SrcPort: le.Uint16(b[56:]),
		DstPort: le.Uint16(b[58:]),
		Family:  family,
		Comm:    d.comm([16]byte(b[64:80])),
	}
	return nil
}

// comm returns the NUL-terminated name in raw, interned.
func (d *decoder) comm(raw [16]byte) string {
	if raw[0] == 0 {
		return ""
	}
	if s, ok := d.comms[raw]; ok {
		return s
	}
	n := 0
	for n < len(raw) && raw[n] != 0 {
		n++
	}
	s := string(raw[:n])
	if d.comms == nil || len(d.comms) >= maxComms {
		d.comms = make(map[[16]byte]string, 64)
	}
	d.comms[raw] = s
	return s
}
