// Package conns keeps the TCP connections that socket events report, by
// socket cookie, and hands out, tick by tick, those that opened and closed
// in between: the short connections a poll of the socket tables never sees.
//
// It owns no event source: the runner feeds it tcpevents Events, the
// pipeline takes the closed connections at each tick and names their
// processes. Memory is bounded twice: at most MaxOpen connections are
// tracked (an open beyond that is counted and forgotten) and at most
// MaxClosed closed ones wait for a tick (the rest are counted as dropped).
package conns

import (
	"net/netip"
	"sync"
	"time"

	"github.com/proctag/proctag/agent/internal/tcpevents"
)

// Roles of a connection's end, as snapshot.Connection.Role gives them.
const (
	RoleClient = "client"
	RoleServer = "server"
)

// DefaultMaxOpen is the number of connections opened within one interval
// that are tracked when Config leaves MaxOpen 0: about 50 MB at most.
const DefaultMaxOpen = 1 << 18

// Conn is one end of a TCP connection: the socket that connect() made or
// accept() returned.
type Conn struct {
	// Cookie is the kernel's socket cookie.
	Cookie uint64
	// NetNS is the inode of the socket's network namespace.
	NetNS uint64
	// Proto is tcp or tcp6, the family of the socket.
	Proto string
	// Local and Remote are the 4-tuple from this end; IPv4-mapped
	// addresses are given as IPv4.
	Local, Remote netip.AddrPort
	// Role is RoleClient (connect) or RoleServer (accept).
	Role string
	// PID is the process that called connect() or accept().
	PID int
	// takes counts the Takes that did not find it in the tables.
	takes int
	// Opened is when the socket was established (or accepted), zero when
	// only its close was seen (AddClosed); Closed is when it closed, zero
	// while it is open.
	Opened, Closed time.Time
}

// Config sizes a Tracker.
type Config struct {
	// MaxClosed is how many closed connections wait for one Take; beyond
	// that they are counted as dropped. Not negative; 0 keeps none.
	MaxClosed int
	// MaxOpen is how many open connections are tracked; 0 means
	// DefaultMaxOpen.
	MaxOpen int
}

// Stats are a Tracker's totals since New.
type Stats struct {
	// Events is every event passed to Add, and every AddClosed: the
	// runner compares it between ticks to tell that no TCP socket of the
	// host listened, connected, was accepted or closed.
	Events uint64
	// Opened and Closed count the connections tracked and closed.
	Opened, Closed uint64
	// Expired counts the open connections forgotten after KeepTakes
	// Takes that did not find them in the tables.
	Expired uint64
	// Reported is the closed connections handed out by Take; Dropped those
	// left out because MaxClosed were waiting.
	Reported, Dropped uint64
	// Untracked is the opens not tracked because MaxOpen were open.
	Untracked uint64
}

// Tracker is the table of open connections and the list of closed ones
// waiting for the next Take. Its methods are safe for concurrent use.
type Tracker struct {
	cfg Config

	mu     sync.Mutex
	open   map[uint64]Conn
	closed []Conn
	// dropped is the closed connections over MaxClosed since the last
	// Take.
	dropped int
	stats   Stats
}

// New returns an empty Tracker.
func New(cfg Config) *Tracker {
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = DefaultMaxOpen
	}
	return &Tracker{cfg: cfg, open: make(map[uint64]Conn)}
}

// Add applies one event: a connect or an accept opens a connection, a
// close of a tracked one closes it. An open that names no process or no
// cookie (its socket predates the event source) is not tracked; a listen
// only counts as an event (Stats.Events).
func (t *Tracker) Add(e *tcpevents.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Events++
	switch e.Kind {
	case tcpevents.Connect, tcpevents.Accept:
		if e.Cookie == 0 || e.PID == 0 {
			return
		}
		if _, ok := t.open[e.Cookie]; !ok && len(t.open) >= t.cfg.MaxOpen {
			t.stats.Untracked++
			return
		}
		c := Conn{
			Cookie: e.Cookie, NetNS: uint64(e.NetNS), Proto: "tcp",
			Local:  netip.AddrPortFrom(e.SrcIP.Unmap(), e.SrcPort),
			Remote: netip.AddrPortFrom(e.DstIP.Unmap(), e.DstPort),
			Role:   RoleClient, PID: int(e.PID), Opened: e.Time,
		}
		if e.Family == 10 {
			c.Proto = "tcp6"
		}
		if e.Kind == tcpevents.Accept {
			c.Role = RoleServer
		}
		t.open[e.Cookie] = c
		t.stats.Opened++
	case tcpevents.Close:
		c, ok := t.open[e.Cookie]
		if !ok {
			return
		}
		delete(t.open, e.Cookie)
		t.stats.Closed++
		if len(t.closed) >= t.cfg.MaxClosed {
			t.dropped++
			t.stats.Dropped++
			return
		}
		c.Closed, c.takes = e.Time, 0
		t.closed = append(t.closed, c)
	}
}

// AddClosed adds a connection known only from its close (sock_diag
// destroy events): Opened is zero when unknown. It counts as an event.
func (t *Tracker) AddClosed(c Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Events++
	t.stats.Closed++
	if len(t.closed) >= t.cfg.MaxClosed {
		t.dropped++
		t.stats.Dropped++
		return
	}
	t.closed = append(t.closed, c)
}

// KeepTakes is how many Takes keep an open connection that the tables
// did not show (it was closing already, or its process is not reported)
// before it is forgotten: a close after that is not published.
const KeepTakes = 6

// Take hands out the connections that opened and closed since the last
// Take, in the order they closed, and how many of those the cap dropped.
// It is called when a tick has read the socket tables, which it started
// to read at tables: a connection open since before then that seen
// reports in the published sockets will show its close as a removal, so
// it is forgotten here. One the tables did not show (already closing,
// which the tables leave out, or not yet visible) is kept, for at most
// KeepTakes Takes, so that its close is published. The slice is the
// caller's.
func (t *Tracker) Take(tables time.Time, seen func(*Conn) bool) (closed []Conn, dropped int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	closed, dropped = t.closed, t.dropped
	t.closed, t.dropped = nil, 0
	for k, c := range t.open {
		if !c.Opened.Before(tables) {
			continue
		}
		switch {
		case seen(&c):
			delete(t.open, k)
		case c.takes >= KeepTakes:
			delete(t.open, k)
			t.stats.Expired++
		default:
			c.takes++
			t.open[k] = c
		}
	}
	t.stats.Reported += uint64(len(closed))
	return closed, dropped
}

// Stats returns the totals since New.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}
