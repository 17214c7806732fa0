package natssub

import (
	"context"
	"runtime"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
)

// decodePipe feeds the stream's messages to the assembler in the order
// they came, having decompressed and decoded them (snapshot.Assembler.Decode)
// on several goroutines: a subscriber replaying a fleet's full snapshots
// spends most of its time there, and one message's decoding does not
// depend on another's.
type decodePipe struct {
	s     *Subscriber
	work  chan *pipeMsg // to the decoders
	order chan *pipeMsg // to the feeder, in arrival order
	wg    sync.WaitGroup
}

// pipeMsg is one message on its way through a decodePipe.
type pipeMsg struct {
	subject string
	header  nats.Header
	data    []byte
	pending uint64 // the stream's backlog after it
	dec     *snapshot.Decoded
	done    chan struct{} // closed once dec is set
}

// pipeWorkers is how many messages a decodePipe decodes at once.
func pipeWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

// newDecodePipe starts the pipe's goroutines, which end with ctx.
func newDecodePipe(ctx context.Context, s *Subscriber, workers int) *decodePipe {
	p := &decodePipe{s: s, work: make(chan *pipeMsg, 2*workers), order: make(chan *pipeMsg, 4*workers)}
	for range workers {
		p.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-p.work:
					m.dec = s.asm.Decode(m.subject, m.header, m.data)
					close(m.done)
				}
			}
		})
	}
	p.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-p.order:
				select {
				case <-ctx.Done():
					return
				case <-m.done:
				}
				s.streamPending.Store(m.pending)
				c, err := s.asm.FeedDecoded(m.dec)
				s.fed(m.subject, c, err)
			}
		}
	})
	return p
}

// submit queues one message, waiting while the pipe is full; it drops the
// message once ctx is done.
func (p *decodePipe) submit(ctx context.Context, subject string, header nats.Header, data []byte, pending uint64) {
	if !p.s.dataSubject(subject) {
		return
	}
	m := &pipeMsg{subject: subject, header: header, data: data, pending: pending, done: make(chan struct{})}
	select {
	case p.order <- m:
	case <-ctx.Done():
		return
	}
	select {
	case p.work <- m:
	case <-ctx.Done():
	}
}
