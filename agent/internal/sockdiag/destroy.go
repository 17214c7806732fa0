package sockdiag

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/nlmsg"
	"github.com/proctag/proctag/agent/internal/osthread"
)

// Groups is a set of sock_diag destroy multicast groups
// (enum sknetlink_groups, include/uapi/linux/sock_diag.h).
type Groups uint32

// The destroy groups: the kernel sends one message to a group for each
// socket of its family and protocol that is freed (__sk_free ->
// sock_diag_broadcast_destroy), in the network namespace of the socket.
const (
	TCP4 Groups = 1 << (unix.SKNLGRP_INET_TCP_DESTROY - 1)
	UDP4 Groups = 1 << (unix.SKNLGRP_INET_UDP_DESTROY - 1)
	TCP6 Groups = 1 << (unix.SKNLGRP_INET6_TCP_DESTROY - 1)
	UDP6 Groups = 1 << (unix.SKNLGRP_INET6_UDP_DESTROY - 1)
	TCP         = TCP4 | TCP6
	UDP         = UDP4 | UDP6
)

// destroyRcvBuf is the receive buffer Destroys asks for: 4 MiB hold
// about 10,000 events (an event is about 300 bytes with its tcp_info, and
// the kernel charges the skb, about 768 bytes, against the buffer), which
// covers a burst of short connections between two reads.
const destroyRcvBuf = 4 << 20

// Destroys receives the sockets that the kernel frees in one network
// namespace, from the sock_diag destroy groups. A TCP socket is freed when
// it is closed and done: after the last ACK of a passive close, after
// entering TIME_WAIT (whose timewait socket is not a full socket and is
// never reported) for an active one, at once for an aborted one. The
// message carries the family, state, 4-tuple and cookie, and the protocol;
// the kernel does not fill in the uid and the inode
// (inet_diag_handler_get_info), which are 0. A caller ties an event to
// its owners through the cookie (seen in an earlier dump) or, for a
// connection accepted by a server, through the listener on its local
// port.
//
// Joining the groups needs no privilege on the kernels this was written
// for (the sock_diag netlink kernel socket has NL_CFG_F_NONROOT_RECV and
// sock_diag_bind checks no capability); kernels or LSMs that refuse it
// give EPERM from SubscribeNetNS/Subscribe, and the caller then relies on
// polling alone.
//
// Destroys is used by one goroutine at a time (Run); Lost and Close may
// be called from any goroutine.
type Destroys struct {
	f    *os.File
	rc   syscall.RawConn
	buf  []byte
	from unix.RawSockaddrNetlink // the sender of the last message
	lost atomic.Uint64
	// dropped counts the messages Run skipped (see Dropped).
	dropped atomic.Uint64
	// closed is set by Close, so that Run reports os.ErrClosed rather
	// than the poller's error.
	closed atomic.Bool
}

// Subscribe joins the destroy groups g in the network namespace of the
// calling thread.
func Subscribe(g Groups) (*Destroys, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("open sock_diag netlink socket: %w", err)
	}
	// SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without
	// it SO_RCVBUF gets what rmem_max allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, destroyRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, destroyRcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: uint32(g)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("join sock_diag destroy groups %#x: %w", uint32(g), err)
	}
	f := os.NewFile(uintptr(fd), "sock_diag destroy")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sock_diag destroy socket: %w", err)
	}
	return &Destroys{f: f, rc: rc, buf: make([]byte, recvBufLen)}, nil
}

// SubscribeNetNS joins the destroy groups g in the network namespace ns
// (an open /proc/PID/ns/net), as OpenNetNS opens a Conn: the socket is
// created inside the namespace and stays bound to it.
func SubscribeNetNS(ns int, g Groups) (*Destroys, error) {
	var d *Destroys
	err := osthread.InNetNS(ns, func() (err error) {
		d, err = Subscribe(g)
		return err
	})
	if err != nil && d != nil {
		d.Close()
		d = nil
	}
	return d, err
}

// Close leaves the groups; a Run in progress returns.
func (d *Destroys) Close() error {
	d.closed.Store(true)
	return d.f.Close()
}

// Lost returns how many times the kernel dropped events because the
// receive buffer was full (ENOBUFS). When it grows, the caller's view
// misses closed sockets until its next dump.
func (d *Destroys) Lost() uint64 { return d.lost.Load() }

// Dropped returns how many messages Run skipped: sent by a process rather
// than the kernel (one with CAP_NET_ADMIN may send to the socket), or not
// in the kernel's format (truncated, malformed).
func (d *Destroys) Dropped() uint64 { return d.dropped.Load() }

// Run calls fn for every freed socket until ctx is done, and then returns
// ctx's error. Events missed to a full buffer are counted (Lost), not
// errors; messages that a process sent, or that do not parse, are skipped
// and counted (Dropped): nothing on the socket makes Run report a socket
// the kernel did not, or stop. fn runs on Run's goroutine. After Close,
// Run returns an error wrapping os.ErrClosed.
func (d *Destroys) Run(ctx context.Context, fn func(Socket)) error {
	stop := context.AfterFunc(ctx, func() { _ = d.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		var n int
		var rerr error
		err := d.rc.Read(func(fd uintptr) bool {
			n, rerr = nlmsg.RecvTrunc(int(fd), d.buf, &d.from)
			return rerr != unix.EAGAIN
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && d.closed.Load():
			return fmt.Errorf("read sock_diag destroy events: %w", os.ErrClosed)
		case err != nil:
			return fmt.Errorf("read sock_diag destroy events: %w", err)
		case rerr == unix.ENOBUFS:
			d.lost.Add(1)
			continue
		case rerr == unix.EINTR:
			continue
		case rerr != nil:
			return fmt.Errorf("read sock_diag destroy events: %w", rerr)
		case n > len(d.buf), d.from.Pid != 0:
			d.dropped.Add(1) // truncated, or not from the kernel
			continue
		}
		if err := d.parse(d.buf[:n], fn); err != nil {
			d.dropped.Add(1)
		}
	}
}

// parse calls fn for each socket of a datagram, but only once the whole
// datagram parsed: a malformed one reports nothing.
func (d *Destroys) parse(b []byte, fn func(Socket)) error {
	if _, err := parseDump(b, 0, 0, func(Socket) {}); err != nil {
		return err
	}
	_, err := parseDump(b, 0, 0, fn)
	return err
}
