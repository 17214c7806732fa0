package procevents

import (
	"encoding/binary"
	"errors"
	"time"
)

// The wire format, in host byte order (little-endian on amd64 and arm64).
// A datagram from the connector holds netlink messages; each carries a
// struct cn_msg (include/uapi/linux/connector.h) followed by a struct
// proc_event (include/uapi/linux/cn_proc.h). Offsets are in bytes.
const (
	// struct nlmsghdr (include/uapi/linux/netlink.h): len u32 @0,
	// type u16 @4, flags u16 @6, seq u32 @8, pid u32 @12.
	nlmsgHeaderLen = 16
	// nlmsgDone is NLMSG_DONE, the type the connector sends its messages
	// with (cn_netlink_send_mult in drivers/connector/connector.c).
	nlmsgDone = 3

	// struct cn_msg: id.idx u32 @0, id.val u32 @4, seq u32 @8, ack u32
	// @12, len u16 @16 (bytes of data), flags u16 @18, data @20.
	cnMsgLen = 20
	// cnIdxProc and cnValProc are the connector id of the process events
	// (CN_IDX_PROC, CN_VAL_PROC in connector.h); cnIdxProc is also the
	// multicast group.
	cnIdxProc = 1
	cnValProc = 1

	// struct proc_event: what u32 @0, cpu u32 @4, timestamp_ns u64 @8
	// (aligned(8)), event_data union @16. The union's members, from @16:
	//   ack      err u32
	//   fork     parent_pid @16, parent_tgid @20, child_pid @24, child_tgid @28
	//   exec     process_pid @16, process_tgid @20
	//   id       process_pid @16, process_tgid @20, ruid/rgid @24, euid/egid @28
	//   sid      process_pid @16, process_tgid @20
	//   ptrace   process_pid @16, process_tgid @20, tracer_pid @24, tracer_tgid @28
	//   comm     process_pid @16, process_tgid @20, comm[16] @24
	//   coredump process_pid @16, process_tgid @20, parent_pid @24, parent_tgid @28
	//   exit     process_pid @16, process_tgid @20, exit_code @24, exit_signal @28,
	//            parent_pid @32, parent_tgid @36
	// The struct is 40 bytes; older kernels lack the parent fields of
	// coredump and exit, which then read as zero.
	procEventHeaderLen = 16
	procEventLen       = 40

	// The values of proc_event.what (enum proc_cn_event).
	whatNone     = 0x00000000
	whatFork     = 0x00000001
	whatExec     = 0x00000002
	whatUID      = 0x00000004
	whatGID      = 0x00000040
	whatSID      = 0x00000080
	whatPtrace   = 0x00000100
	whatComm     = 0x00000200
	whatCoredump = 0x40000000
	whatExit     = 0x80000000
	// whatNonzeroExit is PROC_EVENT_NONZERO_EXIT, a filter bit since Linux
	// 6.6 (cn_filter in cn_proc.c): exits keep what = PROC_EVENT_EXIT, but a
	// message carrying it would be an exit too.
	whatNonzeroExit = 0x20000000

	// procCnMcastListen and procCnMcastIgnore are enum proc_cn_mcast_op,
	// the data of the message that subscribes and unsubscribes.
	procCnMcastListen = 1
	procCnMcastIgnore = 2
)

// errMalformed marks a message that does not have the layout above; the
// source counts and skips it.
var errMalformed = errors.New("malformed process connector message")

// errNotProc marks a well-formed message from another connector id.
var errNotProc = errors.New("not a process event")

// errUnknownKind marks a process event whose what this parser does not
// know (a newer kernel's); its CPU and Seq are set, so that it still counts
// for the sequence check.
var errUnknownKind = errors.New("unknown process event")

// message is one decoded connector message: an event, or (Kind 0) the
// kernel's acknowledgement of a listen or ignore request.
type message struct {
	Event
	// ack is cn_msg.ack: the request's ack plus one for an
	// acknowledgement, 0 for an event.
	ack uint32
	// ackErr is the errno of an acknowledgement (0: done).
	ackErr uint32
}

// nextMessage splits the first netlink message off the datagram b and
// returns its type, its payload and the rest of b (nil after the last).
func nextMessage(b []byte) (typ uint16, payload, rest []byte, err error) {
	if len(b) < nlmsgHeaderLen {
		return 0, nil, nil, errMalformed
	}
	n := binary.NativeEndian.Uint32(b[0:4])
	if n < nlmsgHeaderLen || uint64(n) > uint64(len(b)) {
		return 0, nil, nil, errMalformed
	}
	typ = binary.NativeEndian.Uint16(b[4:6])
	payload = b[nlmsgHeaderLen:n]
	// NLMSG_ALIGN: messages start on 4-byte boundaries.
	next := (uint64(n) + 3) &^ 3
	if next >= uint64(len(b)) {
		return typ, payload, nil, nil
	}
	return typ, payload, b[next:], nil
}

// parseMessage decodes the payload of one netlink message of type
// NLMSG_DONE: a cn_msg with a proc_event. It is a pure function of its
// input and never allocates.
func parseMessage(p []byte) (message, error) {
	var m message
	if len(p) < cnMsgLen {
		return m, errMalformed
	}
	ne := binary.NativeEndian
	if ne.Uint32(p[0:4]) != cnIdxProc || ne.Uint32(p[4:8]) != cnValProc {
		return m, errNotProc
	}
	m.Seq = ne.Uint32(p[8:12])
	m.ack = ne.Uint32(p[12:16])
	dataLen := int(ne.Uint16(p[16:18]))
	if cnMsgLen+dataLen > len(p) || dataLen < procEventHeaderLen {
		return m, errMalformed
	}
	ev := p[cnMsgLen : cnMsgLen+dataLen]
	what := ne.Uint32(ev[0:4])
	m.CPU = ne.Uint32(ev[4:8])
	m.Time = time.Duration(ne.Uint64(ev[8:16]))
	d := ev[procEventHeaderLen:]
	// need is the bytes of the union the kind requires; u32 reads field i
	// of the union when it is there and 0 when an older kernel sent a
	// shorter struct.
	need := func(n int) bool { return len(d) >= n }
	u32 := func(i int) uint32 {
		if len(d) < 4*i+4 {
			return 0
		}
		return ne.Uint32(d[4*i:])
	}
	i32 := func(i int) int32 { return int32(u32(i)) }
	switch what {
	case whatNone:
		if !need(4) {
			return m, errMalformed
		}
		m.ackErr = u32(0)
		return m, nil
	case whatFork:
		if !need(16) {
			return m, errMalformed
		}
		m.Kind = KindFork
		m.ParentPID, m.ParentTGID, m.PID, m.TGID = i32(0), i32(1), i32(2), i32(3)
		return m, nil
	case whatExec, whatSID:
		if !need(8) {
			return m, errMalformed
		}
		m.Kind = KindExec
		if what == whatSID {
			m.Kind = KindSID
		}
	case whatUID, whatGID:
		if !need(16) {
			return m, errMalformed
		}
		m.Kind = KindUID
		if what == whatGID {
			m.Kind = KindGID
		}
		m.RealID, m.EffectiveID = u32(2), u32(3)
	case whatPtrace:
		if !need(16) {
			return m, errMalformed
		}
		m.Kind = KindPtrace
		m.TracerPID, m.TracerTGID = i32(2), i32(3)
	case whatComm:
		if !need(24) {
			return m, errMalformed
		}
		m.Kind = KindComm
		copy(m.Comm[:], d[8:24])
	case whatCoredump:
		if !need(8) {
			return m, errMalformed
		}
		m.Kind = KindCoredump
		m.ParentPID, m.ParentTGID = i32(2), i32(3)
	case whatExit, whatNonzeroExit:
		if !need(16) {
			return m, errMalformed
		}
		m.Kind = KindExit
		m.ExitCode, m.ExitSignal = u32(2), u32(3)
		m.ParentPID, m.ParentTGID = i32(4), i32(5)
	default:
		return m, errUnknownKind
	}
	m.PID, m.TGID = i32(0), i32(1)
	return m, nil
}

// encodeRequest returns the datagram that asks the kernel to start
// (procCnMcastListen) or stop (procCnMcastIgnore) sending process events to
// the socket: a netlink message with a cn_msg whose data is the 4-byte op.
// The kernel acknowledges it with a message whose ack is ack+1.
func encodeRequest(op, seq, ack uint32) []byte {
	b := make([]byte, nlmsgHeaderLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], nlmsgDone)
	p := b[nlmsgHeaderLen:]
	ne.PutUint32(p[0:4], cnIdxProc)
	ne.PutUint32(p[4:8], cnValProc)
	ne.PutUint32(p[8:12], seq)
	ne.PutUint32(p[12:16], ack)
	ne.PutUint16(p[16:18], 4)
	ne.PutUint32(p[20:24], op)
	return b
}
