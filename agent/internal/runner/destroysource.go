package runner

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/snapshot"
)

// destroySource ties short connections to a listener's owner without
// eBPF: the sock_diag destroy groups of the agent's network namespace
// report every TCP socket the kernel frees, with its 4-tuple; one whose
// local address is a published listener's, and that was not in the last
// published state, is the server end of a short connection, accepted by
// the listener's owner. Client ends cannot be attributed this way (an
// ephemeral port names no process), nor connections in other namespaces.
type destroySource struct {
	d      *sockdiag.Destroys
	conns  *conns.Tracker
	netns  uint64
	logger hclog.Logger
	wg     sync.WaitGroup
	// index is rebuilt by the tick loop when the published sockets
	// change, read by the destroy reader.
	index atomic.Pointer[listenIndex]
	// sockets is the published socket list index was built from.
	sockets []snapshot.SocketRow
	// warnedDropped is set once a skipped message was logged, warnedLost
	// once an overrun was.
	warnedDropped, warnedLost bool
}

// listenIndex is what the destroy reader needs from the last state.
type listenIndex struct {
	// listeners are the published TCP listeners of the namespace by
	// port: their address (unspecified for a wildcard) and first owner.
	listeners map[uint16][]listener
	// live are the established server ends published, by 4-tuple:
	// their close is a removal in the next delta, not a short connection.
	live map[[2]netip.AddrPort]struct{}
}

type listener struct {
	addr netip.Addr
	pid  int
}

// openDestroys joins the TCP destroy groups of the agent's namespace when
// os-proc-events is not off and eBPF is not loaded; nil when they cannot
// be joined, which is logged.
func openDestroys(ctx context.Context, l *loop, maxClosed int) *destroySource {
	if !l.eventsOn() {
		return nil
	}
	d, err := sockdiag.Subscribe(sockdiag.TCP)
	if err != nil {
		l.logger.Warn("sock_diag destroy events not joined, short connections are not published", "error", err)
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		d.Close()
		l.logger.Warn("own network namespace unreadable, short connections are not published", "error", err)
		return nil
	}
	s := &destroySource{d: d, conns: conns.New(conns.Config{MaxClosed: maxClosed}), netns: st.Ino, logger: l.logger}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := d.Run(ctx, s.destroyed)
		if err != nil && ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
			l.logger.Error("sock_diag destroy events stopped, short connections are no longer published", "error", err)
		}
	}()
	return s
}

// destroyed handles one freed socket, on the reader's goroutine.
func (s *destroySource) destroyed(k sockdiag.Socket) {
	idx := s.index.Load()
	if idx == nil || k.Proto != unix.IPPROTO_TCP {
		return
	}
	local, remote := unmap(k.Local), unmap(k.Remote)
	if _, ok := idx.live[[2]netip.AddrPort{local, remote}]; ok {
		return
	}
	for _, ln := range idx.listeners[local.Port()] {
		if ln.addr.IsUnspecified() || ln.addr == local.Addr() {
			proto := "tcp"
			if k.Family == unix.AF_INET6 {
				proto = "tcp6"
			}
			s.conns.AddClosed(conns.Conn{Cookie: k.Cookie, NetNS: s.netns, Proto: proto, Local: local, Remote: remote,
				Role: conns.RoleServer, PID: ln.pid, Closed: time.Now()})
			return
		}
	}
}

// update rebuilds the index from the last published state when its
// sockets changed; called by the tick loop after each tick. It also logs,
// once, that the reader skipped messages a process sent or that did not
// parse.
func (s *destroySource) update(snap *snapshot.Snapshot) {
	if n := s.d.Dropped(); n > 0 && !s.warnedDropped {
		s.warnedDropped = true
		s.logger.Warn("sock_diag destroy events: skipped messages sent by a process rather than the kernel, or malformed (logged once)", "skipped", n)
	}
	if n := s.d.Lost(); n > 0 && !s.warnedLost {
		s.warnedLost = true
		s.logger.Warn("sock_diag destroy events lost to a full receive buffer: connections that closed then are not published in closed (logged once, the total at stop)", "overruns", n)
	}
	if snap == nil || sameSockets(snap.SocketRows, s.sockets) {
		return
	}
	s.sockets = snap.SocketRows
	idx := &listenIndex{listeners: make(map[uint16][]listener), live: make(map[[2]netip.AddrPort]struct{})}
	for i := range snap.SocketRows {
		k := &snap.SocketRows[i]
		if k.NetNSID != s.netns || (k.Proto() != "tcp" && k.Proto() != "tcp6") || len(k.PIDs()) == 0 {
			continue
		}
		local := k.Local()
		if !local.Addr().IsValid() {
			continue
		}
		switch {
		case k.State() == "LISTEN":
			idx.listeners[local.Port()] = append(idx.listeners[local.Port()], listener{addr: local.Addr(), pid: k.PIDs()[0]})
		case k.Role() == "server":
			if remote := k.Remote(); remote.Addr().IsValid() {
				idx.live[[2]netip.AddrPort{local, remote}] = struct{}{}
			}
		}
	}
	s.index.Store(idx)
}

// holds reports whether socks share their slice with the list the index
// was last built from, which update tells apart from a new list by its
// slice alone; false for a nil source.
// lost returns how many destroy notifications the kernel could not
// deliver since the reader opened; 0 for a nil source.
func (s *destroySource) lost() uint64 {
	if s == nil {
		return 0
	}
	return s.d.Lost()
}

func (s *destroySource) holds(socks []snapshot.SocketRow) bool {
	return s != nil && cap(s.sockets) > 0 && cap(socks) > 0 &&
		&s.sockets[:cap(s.sockets)][cap(s.sockets)-1] == &socks[:cap(socks)][cap(socks)-1]
}

// sameSockets reports whether a and b are one published list.
func sameSockets(a, b []snapshot.SocketRow) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// unmap gives an IPv4-mapped address as IPv4, as snapshots do.
func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// close leaves the groups, waits for the reader and logs how often the
// kernel dropped destroy events, if it did.
func (s *destroySource) close() {
	s.d.Close()
	s.wg.Wait()
	if n := s.d.Lost(); n > 0 {
		s.logger.Warn("sock_diag destroy events lost to a full receive buffer in all", "overruns", n)
	}
}
