package procevents

import (
	"sync/atomic"
	"time"
)

// Batch is the events that arrived within one window, in arrival order.
// The receiver owns Events.
type Batch struct {
	// Events are the events, KindLost ones included.
	Events []Event
	// Lost says that Events holds a KindLost event: the caller missed
	// events in or before this batch and should poll all processes again.
	Lost bool
}

// batcher groups events into batches: a batch is sent Window after its
// first event, or as soon as it holds MaxBatch events. It is separate from
// the socket so that its timing can be tested with testing/synctest.
type batcher struct {
	window   time.Duration
	maxBatch int
	// batches and dropped count the batches sent and the events dropped
	// because nobody received them before stop closed.
	batches *atomic.Uint64
	dropped *atomic.Uint64
}

// run reads events from in until in is closed, sends each batch on out and
// then closes out. When stop is closed, a batch that out cannot take at
// once is dropped (and counted) instead of waiting for a receiver; in must
// still be closed for run to return.
func (b *batcher) run(in <-chan Event, out chan<- Batch, stop <-chan struct{}) {
	defer close(out)
	var (
		pending Batch
		timer   *time.Timer
		expired <-chan time.Time
	)
	flush := func() {
		if timer != nil {
			timer.Stop()
			expired = nil
		}
		if len(pending.Events) == 0 {
			return
		}
		batch := pending
		pending = Batch{}
		select {
		case out <- batch:
			b.batches.Add(1)
			return
		default:
		}
		select {
		case out <- batch:
			b.batches.Add(1)
		case <-stop:
			b.dropped.Add(uint64(len(batch.Events)))
		}
	}
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				flush()
				return
			}
			if len(pending.Events) == 0 {
				pending.Events = make([]Event, 0, min(b.maxBatch, 64))
				if timer == nil {
					timer = time.NewTimer(b.window)
				} else {
					timer.Reset(b.window)
				}
				expired = timer.C
			}
			pending.Events = append(pending.Events, ev)
			if ev.Kind == KindLost {
				pending.Lost = true
			}
			if len(pending.Events) >= b.maxBatch {
				flush()
			}
		case <-expired:
			expired = nil
			flush()
		}
	}
}
