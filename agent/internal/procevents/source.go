package procevents

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnavailable says the kernel did not acknowledge the subscription: the
// agent runs outside the initial user or pid namespace (the kernel then
// ignores it), or the kernel lacks CONFIG_PROC_EVENTS. The caller falls
// back to polling.
var ErrUnavailable = errors.New("subscription not acknowledged: the kernel answers only the initial user and pid namespaces, and needs CONFIG_PROC_EVENTS")

// Config tunes a Source. The zero value means the defaults below; Config is
// read once by Open.
type Config struct {
	// Window is the longest an event waits in a batch: a batch is sent
	// Window after its first event. 0 means 1s.
	Window time.Duration
	// MaxBatch sends a batch early once it holds this many events. 0 means
	// 4096.
	MaxBatch int
	// Queue is how many batches Events buffers for a slow receiver; beyond
	// that the socket fills and the kernel drops events, which the source
	// reports as KindLost. 0 means 4.
	Queue int
	// ReadBufferBytes is the socket's receive buffer (SO_RCVBUFFORCE when
	// the agent has CAP_NET_ADMIN, else SO_RCVBUF, which
	// net.core.rmem_max caps). One event takes about 1 KiB of it. 0 means
	// 4 MiB; a negative value keeps the system default.
	ReadBufferBytes int
	// Threads also delivers events about threads other than a process's
	// leader (thread creation, exit, comm); by default they are counted
	// and dropped, since only processes are published.
	Threads bool
	// Notify, when set, is called by the reader goroutine with every
	// event it delivers, as soon as it is read and before it joins a
	// batch: the place to read a new process before it can exit. It must
	// be quick, since the socket fills while it runs, and not keep ev.
	Notify func(ev *Event)
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 4096
	}
	if c.Queue <= 0 {
		c.Queue = 4
	}
	if c.ReadBufferBytes == 0 {
		c.ReadBufferBytes = 4 << 20
	}
	return c
}

// Stats are a Source's counters since Open.
type Stats struct {
	// Events is the kernel events sent on Events (KindLost not included).
	Events uint64
	// Threads is the events about non-leader threads that were dropped.
	Threads uint64
	// Lost is the KindLost events sent: socket overflows plus gaps.
	Lost uint64
	// Overruns is the times the socket overflowed (ENOBUFS).
	Overruns uint64
	// Missed is the messages that sequence gaps showed to be missing.
	Missed uint64
	// Batches is the batches sent on Events.
	Batches uint64
	// Dropped is the events dropped at Close because nobody received them.
	Dropped uint64
	// Malformed is the messages skipped because they did not parse or did
	// not come from the kernel.
	Malformed uint64
}

// Source reads process events from the kernel's process connector and
// sends them, batched, on Events. Open starts it; Close or the end of
// Open's context stops it. Its methods are safe for concurrent use.
type Source struct {
	cfg  Config
	file *os.File
	rc   syscall.RawConn
	// closing is set before Close closes the socket, so that the reader
	// takes the resulting error for the end.
	closing atomic.Bool
	// nonce is the seq and ack of our listen request.
	nonce uint32

	in   chan Event
	out  chan Batch
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	// cancel unregisters the Close that the end of Open's context runs;
	// it is set under cancelMu, since that Close may run (on a context
	// already ended) before start has stored it.
	cancelMu sync.Mutex
	cancel   func() bool
	errMu    sync.Mutex
	err      error // why the reader stopped; nil after Close

	events, threads, lost, overruns, missed, batches, dropped, malformed atomic.Uint64

	// Used by the reader goroutine only.
	buf   []byte
	from  unix.RawSockaddrNetlink
	n     int
	errno error
	recv  func(fd uintptr) bool
	seq   seqTracker
}

// Open subscribes to the kernel's process events and starts sending them
// on Events. The caller's first full poll of /proc should start after Open
// returns, so that every change after it is either seen by that poll or
// sent as an event. ctx bounds the subscription and the source's life:
// when it ends the source closes.
//
// The socket needs CAP_NET_ADMIN, except on kernels that let any user
// listen (Linux 6.6 did; a 6.18.44 build refuses it again); without it the
// error matches os.ErrPermission. The
// kernel only answers processes in the initial user and pid namespaces;
// elsewhere Open fails with ErrUnavailable.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	s, err := open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.start(ctx)
	return s, nil
}

// start runs the reader and the batcher until Close or the end of ctx.
func (s *Source) start(ctx context.Context) {
	b := &batcher{window: s.cfg.Window, maxBatch: s.cfg.MaxBatch, batches: &s.batches, dropped: &s.dropped}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		b.run(s.in, s.out, s.stop)
	}()
	go func() {
		defer s.wg.Done()
		defer close(s.in)
		if err := s.readLoop(); err != nil {
			s.errMu.Lock()
			s.err = err
			s.errMu.Unlock()
		}
	}()
	s.cancelMu.Lock()
	s.cancel = context.AfterFunc(ctx, func() { s.Close() })
	s.cancelMu.Unlock()
}

// Events returns the channel of batches. It is closed after Close, the end
// of Open's context or a receive error (then Err says which).
func (s *Source) Events() <-chan Batch { return s.out }

// Err returns the receive error that stopped the source, or nil while it
// runs and when Close or its context stopped it. Once Events is closed,
// Err is final.
func (s *Source) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Stats returns the counters.
func (s *Source) Stats() Stats {
	return Stats{
		Events:    s.events.Load(),
		Threads:   s.threads.Load(),
		Lost:      s.lost.Load(),
		Overruns:  s.overruns.Load(),
		Missed:    s.missed.Load(),
		Batches:   s.batches.Load(),
		Dropped:   s.dropped.Load(),
		Malformed: s.malformed.Load(),
	}
}

// Close unsubscribes, closes the socket and waits for the source's
// goroutines. The batch in progress is sent when Events has room for it,
// else dropped and counted; Events is closed when Close returns. Close is
// safe to call more than once.
func (s *Source) Close() error {
	s.once.Do(func() {
		s.cancelMu.Lock()
		cancel := s.cancel
		s.cancelMu.Unlock()
		if cancel != nil {
			cancel()
		}
		// Best effort: older kernels count a listener until it says so.
		_ = s.send(encodeRequest(procCnMcastIgnore, s.nonce+1, s.nonce+1))
		s.closing.Store(true)
		s.file.Close()
		close(s.stop)
	})
	s.wg.Wait()
	return nil
}

// readLoop receives datagrams until the socket is closed and hands their
// events to the batcher.
func (s *Source) readLoop() error {
	for {
		n, err := s.read()
		switch {
		case err != nil && s.closing.Load():
			return nil
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped messages for this socket; the ones still
			// queued follow, so the gap counters start over.
			s.overruns.Add(1)
			s.seq.reset()
			if !s.emit(Event{Kind: KindLost}) {
				return nil
			}
			continue
		case err != nil:
			return fmt.Errorf("receive process events: %w", err)
		}
		if s.from.Pid != 0 {
			s.malformed.Add(1) // a process, not the kernel, sent it
			continue
		}
		if !s.handle(s.buf[:n]) {
			return nil
		}
	}
}

// handle decodes one datagram and emits its events; false means stop.
func (s *Source) handle(b []byte) bool {
	for len(b) > 0 {
		typ, p, rest, err := nextMessage(b)
		if err != nil {
			s.malformed.Add(1)
			return true
		}
		b = rest
		if typ != nlmsgDone {
			continue
		}
		m, err := parseMessage(p)
		if errors.Is(err, errMalformed) {
			s.malformed.Add(1)
			continue
		}
		if errors.Is(err, errNotProc) {
			continue
		}
		if err == nil && m.Kind == 0 && m.CPU >= maxCPUs {
			// An acknowledgement whose cpu is -1 took a number from an
			// unknown cpu's counter.
			s.seq.reset()
			continue
		}
		if gap := s.seq.observe(m.CPU, m.Seq); gap > 0 {
			s.missed.Add(uint64(gap))
			if !s.emit(Event{Kind: KindLost, Missed: gap}) {
				return false
			}
		}
		if err != nil || m.Kind == 0 {
			continue
		}
		if !s.cfg.Threads && !m.Leader() {
			s.threads.Add(1)
			continue
		}
		s.events.Add(1)
		if s.cfg.Notify != nil {
			s.cfg.Notify(&m.Event)
		}
		if !s.emit(m.Event) {
			return false
		}
	}
	return true
}

// emit hands ev to the batcher; false means the source is closing.
func (s *Source) emit(ev Event) bool {
	if ev.Kind == KindLost {
		s.lost.Add(1)
	}
	select {
	case s.in <- ev:
		return true
	case <-s.stop:
		return false
	}
}
