package procevents

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The socket: a NETLINK_CONNECTOR datagram socket bound to the CN_IDX_PROC
// group, non-blocking and read through the runtime's poller, so that
// closing it ends a pending receive.

// ackTimeout bounds the wait for the kernel's acknowledgement in Open; the
// kernel answers while it handles the request, so this only expires when
// it ignores the request.
const ackTimeout = 2 * time.Second

// open subscribes and waits for the acknowledgement without starting the
// goroutines, so that a test can let the socket fill before start.
func open(ctx context.Context, cfg Config) (*Source, error) {
	cfg = cfg.withDefaults()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("open process connector: socket: %w", err)
	}
	if cfg.ReadBufferBytes > 0 {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.ReadBufferBytes) != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.ReadBufferBytes); err != nil {
				unix.Close(fd)
				return nil, fmt.Errorf("open process connector: set receive buffer to %d bytes: %w", cfg.ReadBufferBytes, err)
			}
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("open process connector: bind to the process events group: %w (this needs CAP_NET_ADMIN, except on kernels that let any user listen, as Linux 6.6 did)", err)
		}
		return nil, fmt.Errorf("open process connector: bind to the process events group: %w", err)
	}
	s := &Source{
		cfg:   cfg,
		file:  os.NewFile(uintptr(fd), "netlink-connector"),
		nonce: rand.Uint32() &^ (1 << 31),
		in:    make(chan Event, 64),
		out:   make(chan Batch, cfg.Queue),
		stop:  make(chan struct{}),
		buf:   make([]byte, 16<<10),
	}
	s.recv = s.recvOnce
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		return nil, fmt.Errorf("open process connector: %w", err)
	}
	if err := s.subscribe(ctx); err != nil {
		s.file.Close()
		return nil, err
	}
	return s, nil
}

// subscribe sends the listen request and waits for its acknowledgement,
// discarding the events queued before it.
func (s *Source) subscribe(ctx context.Context) error {
	if err := s.send(encodeRequest(procCnMcastListen, s.nonce, s.nonce)); err != nil {
		return fmt.Errorf("open process connector: send listen request: %w", err)
	}
	started := time.Now()
	deadline := started.Add(ackTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := s.file.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("open process connector: %w", err)
	}
	// The end of ctx wakes the read below by a deadline in the past,
	// unless the subscription is done: a wake that runs late (ctx ended as
	// the answer came) must not leave that deadline on the socket for the
	// source's reader.
	var wakeMu sync.Mutex
	subscribed := false
	stopWake := context.AfterFunc(ctx, func() {
		wakeMu.Lock()
		defer wakeMu.Unlock()
		if !subscribed {
			s.file.SetReadDeadline(time.Unix(1, 0))
		}
	})
	defer stopWake()
	for {
		n, err := s.read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return fmt.Errorf("open process connector: %w", ctx.Err())
			}
			return fmt.Errorf("open process connector: no answer within %v: %w", time.Since(started).Round(time.Millisecond), ErrUnavailable)
		}
		if errors.Is(err, unix.ENOBUFS) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open process connector: receive: %w", err)
		}
		for b := s.buf[:n]; len(b) > 0; {
			typ, p, rest, err := nextMessage(b)
			if err != nil {
				break
			}
			b = rest
			if typ != nlmsgDone {
				continue
			}
			m, err := parseMessage(p)
			if err != nil || m.Kind != 0 || m.ack != s.nonce+1 {
				continue
			}
			if m.ackErr != 0 {
				errno := unix.Errno(m.ackErr)
				if errno == unix.EPERM {
					return fmt.Errorf("open process connector: listen: %w (this needs CAP_NET_ADMIN, except on kernels that let any user listen, as Linux 6.6 did)", errno)
				}
				return fmt.Errorf("open process connector: listen: %w", errno)
			}
			wakeMu.Lock()
			subscribed = true
			err = s.file.SetReadDeadline(time.Time{})
			wakeMu.Unlock()
			if err != nil {
				return fmt.Errorf("open process connector: %w", err)
			}
			return nil
		}
	}
}

// read receives one datagram into s.buf, recording its sender in s.from.
func (s *Source) read() (int, error) {
	if err := s.rc.Read(s.recv); err != nil {
		return 0, err
	}
	return s.n, s.errno
}

// recvOnce is the raw recvfrom for rc.Read: it reports false (wait for
// the socket to be readable) on EAGAIN. It fills s.from without the
// allocation of unix.Recvfrom.
func (s *Source) recvOnce(fd uintptr) bool {
	for {
		salen := uint32(unix.SizeofSockaddrNetlink)
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), 0,
			uintptr(unsafe.Pointer(&s.from)), uintptr(unsafe.Pointer(&salen)))
		switch e {
		case 0:
			s.n, s.errno = int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			s.n, s.errno = 0, e
		}
		return true
	}
}

// send writes one request to the kernel.
func (s *Source) send(b []byte) error {
	var serr error
	werr := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if werr != nil {
		return werr
	}
	return serr
}
