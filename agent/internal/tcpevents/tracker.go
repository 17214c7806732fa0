//go:build linux && (amd64 || arm64)

package tcpevents

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Config sizes the tracker. The zero value is ready to use.
type Config struct {
	// RingBufferBytes is the size of the kernel ring buffer the events cross: a power of
	// two and a multiple of the page size. Each event takes 88 bytes of it. 0 means
	// DefaultRingBufferBytes.
	RingBufferBytes int
}

// DefaultRingBufferBytes is the ring buffer size when Config leaves it 0: about 12,000
// events, which absorbs a burst of a few thousand connections between two reads.
const DefaultRingBufferBytes = 1 << 20

// ErrNotPermitted is returned by Open when the kernel refuses to load or attach the BPF
// programs for lack of privilege (root, or CAP_BPF and CAP_PERFMON, are needed).
var ErrNotPermitted = errors.New("not permitted to load BPF programs (needs root, or CAP_BPF and CAP_PERFMON)")

// ErrBadRecord is wrapped by the error of a ring buffer record that does not decode; the
// reader may go on.
var ErrBadRecord = errors.New("tcp event record does not decode")

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("tcp event tracker closed")

// Tracker owns the loaded BPF programs, their links and the ring buffer reader. Read is
// meant for one goroutine; Lost and Close may be called from any goroutine.
type Tracker struct {
	objs  tcpeventsObjects
	links []link.Link
	rd    *ringbuf.Reader
	dec   decoder
	rec   ringbuf.Record

	mu sync.Mutex // guards watched and unwatch
	// watched is the Done channel of the context whose cancellation flushes the reader,
	// unwatch ends that watch. Kept across calls so that a loop reading with one context
	// registers it once, not once per event.
	watched <-chan struct{}
	unwatch func() bool

	closeOnce sync.Once
	closeErr  error
}

// Open loads the BPF programs, attaches them and starts collecting events into the ring
// buffer; events are kept until Read takes them or the buffer is full (then Lost counts).
// The caller must Close the Tracker.
func Open(cfg Config) (*Tracker, error) {
	size := cfg.RingBufferBytes
	if size == 0 {
		size = DefaultRingBufferBytes
	}
	page := os.Getpagesize()
	if size < page || size&(size-1) != 0 || size%page != 0 {
		return nil, fmt.Errorf("tcp events ring buffer of %d bytes: not a power of two multiple of the page size (%d)", size, page)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("tcp events: %w", permission(err))
	}
	spec, err := loadTcpevents()
	if err != nil {
		return nil, fmt.Errorf("tcp events: %w", err)
	}
	spec.Maps[tcpeventsMapEvents].MaxEntries = uint32(size)
	for name, nr := range map[string]int64{"nr_accept": sysAccept, "nr_accept4": sysAccept4} {
		if err := spec.Variables[name].Set(nr); err != nil {
			return nil, fmt.Errorf("tcp events: set %s: %w", name, err)
		}
	}

	t := &Tracker{}
	if err := spec.LoadAndAssign(&t.objs, nil); err != nil {
		return nil, fmt.Errorf("load tcp event programs: %w", permission(err))
	}
	for _, p := range []*ebpf.Program{t.objs.InetSockSetState, t.objs.SysExit, t.objs.TcpDestroySock} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("attach tcp event program %s: %w", p, permission(err))
		}
		t.links = append(t.links, l)
	}
	if t.rd, err = ringbuf.NewReader(t.objs.Events); err != nil {
		t.Close()
		return nil, fmt.Errorf("tcp events ring buffer: %w", err)
	}
	if t.dec.bootOffset, err = bootOffset(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// permission marks the kernel's EPERM as ErrNotPermitted, keeping the original error.
func permission(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrNotPermitted, err)
	}
	return err
}

// bootOffset returns wall-clock time minus CLOCK_BOOTTIME, to date the kernel's
// bpf_ktime_get_boot_ns stamps.
func bootOffset() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("read CLOCK_BOOTTIME: %w", err)
	}
	return time.Now().UnixNano() - ts.Nano(), nil
}

// Read blocks until the next event, ctx is done (ctx.Err is returned) or the Tracker is
// closed (ErrClosed). Records that do not decode are returned as errors; the caller may
// go on reading.
func (t *Tracker) Read(ctx context.Context) (Event, error) {
	var e Event
	err := t.ReadInto(ctx, &e)
	return e, err
}

// ReadInto is Read into an Event the caller owns, which makes a steady stream of events
// free of allocations.
func (t *Tracker) ReadInto(ctx context.Context, e *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.watch(ctx)
	for {
		err := t.rd.ReadInto(&t.rec)
		switch {
		case err == nil:
			if err := t.dec.decode(t.rec.RawSample, e); err != nil {
				return fmt.Errorf("%w: %w", ErrBadRecord, err)
			}
			return nil
		case errors.Is(err, ringbuf.ErrClosed):
			return ErrClosed
		case errors.Is(err, ringbuf.ErrFlushed):
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			// A flush by an earlier call's context: read on.
		default:
			return fmt.Errorf("read tcp events: %w", err)
		}
	}
}

// watch makes ctx's cancellation interrupt ReadInto. The reader's Flush is the only call
// that interrupts a blocked read (SetDeadline waits for the reader's lock): the records
// already in the ring come first, then ErrFlushed. A flush left by an earlier context is
// harmless: ReadInto reads on when its own context is not done.
func (t *Tracker) watch(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	done := ctx.Done()
	if done == t.watched {
		return
	}
	if t.unwatch != nil {
		t.unwatch()
		t.unwatch = nil
	}
	t.watched = done
	if done != nil {
		t.unwatch = context.AfterFunc(ctx, func() { _ = t.rd.Flush() })
	}
}

// Lost returns how many events may have been lost since Open: those the kernel dropped
// because the ring buffer was full, plus Misses. 0 after Close.
func (t *Tracker) Lost() uint64 {
	var perCPU []uint64
	if err := t.objs.Lost.Lookup(uint32(0), &perCPU); err != nil {
		return 0
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n + t.Misses()
}

// Misses returns how many times since Open the kernel skipped the state-change or the
// accept program because it was already running on that CPU (the kernel's recursion
// misses, which it counts per program): each skipped run may have been an event (a listen,
// connect, accept or close) or a transition nobody reports. A skipped close is reported
// all the same by tcp_destroy_sock, whose own misses are not counted here: they lose
// nothing unless the state program missed the same socket, which it counts.
func (t *Tracker) Misses() uint64 {
	var n uint64
	for _, p := range []*ebpf.Program{t.objs.InetSockSetState, t.objs.SysExit} {
		if p == nil {
			continue
		}
		if st, err := p.Stats(); err == nil {
			n += st.RecursionMisses
		}
	}
	return n
}

// Close detaches the programs, unblocks a pending Read and frees the kernel objects.
// Calling it again returns the first result.
func (t *Tracker) Close() error {
	t.closeOnce.Do(func() {
		var errs []error
		t.mu.Lock()
		if t.unwatch != nil {
			t.unwatch()
			t.unwatch = nil
		}
		t.mu.Unlock()
		if t.rd != nil {
			errs = append(errs, t.rd.Close())
		}
		for _, l := range t.links {
			errs = append(errs, l.Close())
		}
		errs = append(errs, t.objs.Close())
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}
