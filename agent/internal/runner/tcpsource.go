package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/conns"
	"github.com/proctag/proctag/agent/internal/tcpevents"
)

// tcpSource reads the eBPF TCP events into a connection table for the
// whole run (reloads keep it).
type tcpSource struct {
	t      *tcpevents.Tracker
	conns  *conns.Tracker
	logger hclog.Logger
	wg     sync.WaitGroup
	// lost is the tracker's loss count that the loop last saw; failed is
	// set when reading stopped on an error, after which the events no
	// longer vouch for a quiet host.
	lost   uint64
	failed atomic.Bool
}

// openTCP loads the eBPF programs when os-proc-events is not off and
// starts reading them; nil when they do not load (the start line said
// why, or this logs it when the start probe loaded them).
func openTCP(ctx context.Context, l *loop) *tcpSource {
	if !l.eventsOn() {
		return nil
	}
	t, err := tcpevents.Open(tcpevents.Config{})
	if err != nil {
		if l.ebpfProbed {
			// The start line said it loaded: a failure now is news.
			l.logger.Warn("eBPF TCP events not loaded, short connections are not published", "error", err)
		}
		return nil
	}
	s := &tcpSource{t: t, conns: conns.New(conns.Config{MaxClosed: l.cfg.ClosedMax}), logger: l.logger}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.read(ctx)
	}()
	return s
}

// read feeds the connection table until ctx ends or the tracker fails; a
// record that does not decode is logged once and skipped.
func (s *tcpSource) read(ctx context.Context) {
	var e tcpevents.Event
	warned := false
	for {
		err := s.t.ReadInto(ctx, &e)
		switch {
		case err == nil:
			s.conns.Add(&e)
		case ctx.Err() != nil || errors.Is(err, tcpevents.ErrClosed):
			return
		case errors.Is(err, tcpevents.ErrBadRecord):
			if !warned {
				warned = true
				s.logger.Warn("eBPF TCP event skipped", "error", err)
			}
		default:
			s.failed.Store(true)
			s.logger.Error("eBPF TCP events stopped, short connections are no longer published", "error", err)
			return
		}
	}
}

// newLoss reports whether the kernel dropped events since the last call.
// Called from the tick loop only.
func (s *tcpSource) newLoss() bool {
	n := s.t.Lost()
	lost := n != s.lost
	if lost {
		s.logger.Debug("eBPF TCP events lost, the next tick reads everything", "lost", n-s.lost, "lost_total", n)
	}
	s.lost = n
	return lost
}

// close detaches the programs and waits for the reader.
func (s *tcpSource) close() {
	s.t.Close()
	s.wg.Wait()
}
