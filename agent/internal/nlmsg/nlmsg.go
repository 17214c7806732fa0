// Package nlmsg reads netlink messages (include/uapi/linux/netlink.h) as the
// kernel writes them: it receives one skb without allocating, walks its
// messages and their attributes, and turns NLMSG_ERROR and a failed
// NLMSG_DONE into errors. sockdiag and ifaddrs parse their own payloads on
// top of it.
package nlmsg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sizes of the headers (struct nlmsghdr, struct nlattr / struct rtattr).
const (
	HdrLen     = unix.SizeofNlMsghdr
	AttrHdrLen = 4
	// attrTypeMask is NLA_TYPE_MASK: an attribute's type without its
	// nested and byte-order flags.
	attrTypeMask = 0x3fff
)

// ErrMalformed marks a message that is not in the kernel's format.
var ErrMalformed = errors.New("malformed netlink message")

// Align4 rounds n up to a multiple of 4 (NLMSG_ALIGN, NLA_ALIGN).
func Align4(n int) int { return (n + 3) &^ 3 }

// Walk calls fn with the type and payload of each netlink message in b (one
// recv). Messages whose sequence number is not seq are skipped (the rest of
// an earlier, abandoned dump), unless seq is 0 (multicast). done is true at
// NLMSG_DONE. An NLMSG_ERROR or a negative NLMSG_DONE status is returned as
// the errno; an NLMSG_ERROR of 0 (an acknowledgement) is skipped. The first
// error of fn ends the walk. Walk does not allocate.
func Walk(b []byte, seq uint32, fn func(typ uint16, body []byte) error) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= HdrLen {
		n := int(ne.Uint32(b))
		if n < HdrLen || n > len(b) {
			return false, fmt.Errorf("%w: message of %d bytes in %d", ErrMalformed, n, len(b))
		}
		typ, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		body := b[HdrLen:n]
		b = b[min(Align4(n), len(b)):]
		if seq != 0 && mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE, unix.NLMSG_ERROR:
			if len(body) < 4 {
				return false, fmt.Errorf("%w: status of %d bytes", ErrMalformed, len(body))
			}
			if e := int32(ne.Uint32(body)); e < 0 {
				return false, unix.Errno(-e)
			}
			if typ == unix.NLMSG_DONE {
				return true, nil
			}
		default:
			if err := fn(typ, body); err != nil {
				return false, err
			}
		}
	}
	if len(b) != 0 {
		return false, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return false, nil
}

// Attrs calls fn with the type (flags masked off) and value of each
// attribute in a, the part of a message after its fixed header. Attrs does
// not allocate.
func Attrs(a []byte, fn func(typ uint16, val []byte)) error {
	ne := binary.NativeEndian
	for len(a) >= AttrHdrLen {
		n := int(ne.Uint16(a))
		if n < AttrHdrLen || n > len(a) {
			return fmt.Errorf("%w: attribute of %d bytes in %d", ErrMalformed, n, len(a))
		}
		fn(ne.Uint16(a[2:])&attrTypeMask, a[AttrHdrLen:n])
		a = a[min(Align4(n), len(a)):]
	}
	return nil
}

// RecvTrunc receives one netlink skb into buf and returns its full length
// (MSG_TRUNC), which exceeds len(buf) when it did not fit, and its sender in
// from (Pid 0 for the kernel). Unlike unix.Recvfrom it allocates nothing.
func RecvTrunc(fd int, buf []byte, from *unix.RawSockaddrNetlink) (int, error) {
	salen := uint32(unix.SizeofSockaddrNetlink)
	*from = unix.RawSockaddrNetlink{}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)),
		unix.MSG_TRUNC, uintptr(unsafe.Pointer(from)), uintptr(unsafe.Pointer(&salen)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Dump sends req (a complete request with NLM_F_DUMP and sequence number
// seq) on the netlink socket fd and passes each message of the answer to fn
// (see Walk) until NLMSG_DONE. Messages sent by anyone but the kernel are
// skipped: another process may send to the socket's port id. buf receives
// one skb at a time; an skb larger than buf is an error.
func Dump(fd int, req []byte, seq uint32, buf []byte, fn func(typ uint16, body []byte) error) error {
	for {
		if _, err := unix.Write(fd, req); err != unix.EINTR {
			if err != nil {
				return err
			}
			break
		}
	}
	for {
		var from unix.RawSockaddrNetlink
		n, err := RecvTrunc(fd, buf, &from)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if from.Pid != 0 {
			continue // a process, not the kernel, sent it: not part of the answer
		}
		if n > len(buf) {
			return fmt.Errorf("%w: a message of %d bytes exceeds the %d-byte buffer", ErrMalformed, n, len(buf))
		}
		done, err := Walk(buf[:n], seq, fn)
		if err != nil || done {
			return err
		}
	}
}
