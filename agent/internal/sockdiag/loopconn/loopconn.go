// Package loopconn opens many real established TCP connections over the
// loopback in the calling process, as load for the socket table readers'
// tests and benchmarks. It owns only the file descriptors it opens.
package loopconn

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// perSource is how many connections share one client address: fewer than
// the default ephemeral port range (32768-60999) holds.
const perSource = 20000

// Pairs is a TCP listener on 127.0.0.1 and connections to it, both ends
// of each held open in this process: 2*len(Clients) ESTABLISHED sockets
// and one LISTEN. Pairs is not safe for concurrent Close.
type Pairs struct {
	// Listener is the listening socket's descriptor, Port its port.
	Listener int
	Port     int
	// Clients and Servers are the two ends of each connection: the
	// connecting socket and the accepted one.
	Clients, Servers []int
}

// Open opens a listener and n connections to it. Clients connect from
// 127.0.0.2, 127.0.0.3, ... (at most 20,000 per address) so that n may
// exceed the ephemeral port range. The caller needs 2n+1 descriptors (see
// RaiseNoFile). On error everything opened is closed.
func Open(n int) (p *Pairs, err error) {
	p = &Pairs{Listener: -1}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	if p.Listener, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return p, fmt.Errorf("listener socket: %w", err)
	}
	lo := [4]byte{127, 0, 0, 1}
	if err = unix.Bind(p.Listener, &unix.SockaddrInet4{Addr: lo}); err != nil {
		return p, fmt.Errorf("bind listener: %w", err)
	}
	if err = unix.Listen(p.Listener, 4096); err != nil {
		return p, fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(p.Listener)
	if err != nil {
		return p, fmt.Errorf("listener address: %w", err)
	}
	p.Port = sa.(*unix.SockaddrInet4).Port
	dst := &unix.SockaddrInet4{Addr: lo, Port: p.Port}
	p.Clients, p.Servers = make([]int, 0, n), make([]int, 0, n)
	for i := range n {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return p, fmt.Errorf("client socket %d: %w", i, err)
		}
		p.Clients = append(p.Clients, c)
		// Bind only the address; connect picks a port unique for the
		// 4-tuple.
		if err := unix.SetsockoptInt(c, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1); err != nil {
			return p, fmt.Errorf("client %d: IP_BIND_ADDRESS_NO_PORT: %w", i, err)
		}
		src := 2 + i/perSource
		if err := unix.Bind(c, &unix.SockaddrInet4{Addr: [4]byte{127, byte(src >> 16), byte(src >> 8), byte(src)}}); err != nil {
			return p, fmt.Errorf("bind client %d: %w", i, err)
		}
		if err := retry(func() error { return unix.Connect(c, dst) }); err != nil {
			return p, fmt.Errorf("connect client %d: %w", i, err)
		}
		var s int
		if err := retry(func() (err error) { s, _, err = unix.Accept4(p.Listener, unix.SOCK_CLOEXEC); return err }); err != nil {
			return p, fmt.Errorf("accept %d: %w", i, err)
		}
		p.Servers = append(p.Servers, s)
	}
	return p, nil
}

// retry calls fn again while it fails with EINTR.
func retry(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

// Close closes every descriptor of p.
func (p *Pairs) Close() error {
	var errs []error
	for _, fd := range append(append([]int{p.Listener}, p.Clients...), p.Servers...) {
		if fd >= 0 {
			errs = append(errs, unix.Close(fd))
		}
	}
	p.Listener, p.Clients, p.Servers = -1, nil, nil
	return errors.Join(errs...)
}

// RaiseNoFile raises this process's RLIMIT_NOFILE, soft and hard, to at
// least n (raising the hard limit needs CAP_SYS_RESOURCE and n at most
// fs.nr_open). It returns the limit it replaced, for a caller to restore.
func RaiseNoFile(n uint64) (old syscall.Rlimit, err error) {
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		return old, fmt.Errorf("get RLIMIT_NOFILE: %w", err)
	}
	if old.Cur >= n {
		return old, nil
	}
	lim := syscall.Rlimit{Cur: n, Max: max(n, old.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return old, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", n, err)
	}
	return old, nil
}
