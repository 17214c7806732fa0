// Package loopconn opens many real established TCP connections over the
// loopback in the calling process, as load for the socket table readers'
// tests and benchmarks. It owns only the file descriptors it opens.
package loopconn

import (
	"errors"
	"fmt"

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
	// connecting socket and the accepted one. Parked connections are
	// not listed.
	Clients, Servers []int
	// Parked is how many connections are held in flight (see OpenParked).
	Parked int
	park   parking
}

// Open opens a listener and n connections to it. Clients connect from
// 127.0.0.2, 127.0.0.3, ... (at most 20,000 per address) so that n may
// exceed the ephemeral port range. The caller needs 2n+1 descriptors
// (else see OpenParked). On error everything opened is closed.
func Open(n int) (*Pairs, error) { return open(n, 0) }

// OpenParked is Open for more connections than RLIMIT_NOFILE allows: it
// opens them by batches of batch and parks each batch's descriptors in
// flight in unix sockets (SCM_RIGHTS, never received), which keeps the
// connections ESTABLISHED in the kernel's tables without descriptors. No
// connection is left in Clients and Servers. Beyond RLIMIT_NOFILE
// descriptors in flight the kernel requires CAP_SYS_ADMIN or
// CAP_SYS_RESOURCE. Close releases them all.
func OpenParked(n, batch int) (*Pairs, error) { return open(n, max(batch, 1)) }

// open opens n connections, parking them every batch when batch > 0.
func open(n, batch int) (p *Pairs, err error) {
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
	size := n
	if batch > 0 {
		size = min(n, batch)
	}
	p.Clients, p.Servers = make([]int, 0, size), make([]int, 0, size)
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
		if batch > 0 && (len(p.Clients) == batch || i == n-1) {
			k := len(p.Clients)
			err := p.park.park(append(p.Clients, p.Servers...))
			p.Clients, p.Servers = p.Clients[:0], p.Servers[:0]
			if err != nil {
				return p, err
			}
			p.Parked += k
		}
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
	errs = append(errs, p.park.close())
	p.Listener, p.Clients, p.Servers, p.Parked = -1, nil, nil, 0
	return errors.Join(errs...)
}
