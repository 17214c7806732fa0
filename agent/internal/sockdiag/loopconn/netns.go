package loopconn

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/osthread"
)

// NetNS is a new network namespace with its loopback up, entered by one
// OS thread that runs the functions given to Do, so that the sockets they
// create belong to it. It lives while NS, a thread in it or a socket of
// it is open. Do and Close are called from one goroutine at a time.
type NetNS struct {
	// NS is an open descriptor of the namespace (/proc/thread-self/ns/net
	// of its thread), for setns or sockdiag.OpenNetNS.
	NS int
	// TID is the thread in the namespace: /proc/self/task/TID/net holds
	// the namespace's socket tables while the NetNS is open.
	TID int
	do  chan func()
}

// NewNetNS creates a network namespace (unshare CLONE_NEWNET, which needs
// CAP_SYS_ADMIN) on a new locked thread, never the main one (see
// osthread.Go), and brings its loopback up.
func NewNetNS() (*NetNS, error) {
	n := &NetNS{NS: -1, do: make(chan func())}
	errc := make(chan error, 1)
	osthread.Go(func() {
		// The thread never leaves the namespace: it stays locked and
		// ends with this goroutine.
		if err := n.enter(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for fn := range n.do {
			fn()
		}
	})
	if err := <-errc; err != nil {
		if n.NS >= 0 {
			unix.Close(n.NS)
		}
		return nil, err
	}
	return n, nil
}

// enter runs on the namespace's thread: unshare, loopback up, n.NS, n.TID.
func (n *NetNS) enter() error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare network namespace: %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for ioctl: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if n.NS, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("open /proc/thread-self/ns/net: %w", err)
	}
	n.TID = unix.Gettid()
	return nil
}

// Do runs fn on the namespace's thread and returns its error.
func (n *NetNS) Do(fn func() error) error {
	errc := make(chan error, 1)
	n.do <- func() { errc <- fn() }
	return <-errc
}

// Close ends the namespace's thread and closes NS. Sockets opened in the
// namespace stay open and keep it alive.
func (n *NetNS) Close() error {
	close(n.do)
	return unix.Close(n.NS)
}
