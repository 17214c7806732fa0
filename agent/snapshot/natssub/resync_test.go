package natssub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// sent records the requests a scheduler sends, with the fake time of each
// since the start of the bubble.
type sent struct {
	mu    sync.Mutex
	start time.Time
	list  []string
}

func (s *sent) send(_ context.Context, host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, time.Since(s.start).String()+" "+host)
}

// take waits until every scheduled goroutine is blocked or done, and
// returns what was sent since the last take.
func (s *sent) take() []string {
	synctest.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.list
	s.list = nil
	return out
}

func TestResyncScheduler(t *testing.T) {
	const gap = 2 * time.Second
	tests := []struct {
		name string
		run  func(ctx context.Context, r *resyncScheduler, s *sent, cancel context.CancelFunc) []string
		want []string
	}{
		{
			name: "the first request goes at once, the next after the gap",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				got := s.take()
				time.Sleep(500 * time.Millisecond)
				r.schedule(ctx, "a")
				got = append(got, s.take()...) // waiting: nothing yet
				time.Sleep(gap)
				return append(got, s.take()...)
			},
			want: []string{"0s a", "2s a"},
		},
		{
			name: "requests while one waits are merged into it",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				for range 50 {
					time.Sleep(10 * time.Millisecond)
					r.schedule(ctx, "a")
				}
				time.Sleep(10 * gap)
				return s.take()
			},
			want: []string{"0s a", "2s a"},
		},
		{
			name: "after the gap a request goes at once",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				time.Sleep(gap + time.Second)
				r.schedule(ctx, "a")
				return s.take()
			},
			want: []string{"0s a", "3s a"},
		},
		{
			name: "hosts are spaced independently",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				time.Sleep(time.Second)
				r.schedule(ctx, "b")
				r.schedule(ctx, "a")
				time.Sleep(10 * gap)
				return s.take()
			},
			want: []string{"0s a", "1s b", "2s a"},
		},
		{
			name: "a request before the last one went out is merged into it",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				r.schedule(ctx, "a")
				time.Sleep(10 * gap)
				return s.take()
			},
			want: []string{"0s a"},
		},
		{
			name: "forget lets the next request go at once",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				time.Sleep(time.Second)
				r.forget()
				r.schedule(ctx, "a")
				return s.take()
			},
			want: []string{"0s a", "1s a"},
		},
		{
			name: "a done context cancels the waiting request and refuses new ones",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, cancel context.CancelFunc) []string {
				r.schedule(ctx, "a")
				got := s.take()
				time.Sleep(time.Second)
				r.schedule(ctx, "a")
				cancel()
				time.Sleep(10 * gap)
				r.schedule(ctx, "b")
				return append(got, s.take()...)
			},
			want: []string{"0s a"},
		},
		{
			name: "a conditional request waits its delay and goes only if still needed",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				needed := true
				r.scheduleIf(ctx, "a", 10*time.Second, func() bool { return needed })
				got := s.take() // waiting
				time.Sleep(10 * time.Second)
				got = append(got, s.take()...) // sent at 10s
				r.scheduleIf(ctx, "b", 10*time.Second, func() bool { return !needed })
				time.Sleep(20 * time.Second)
				return append(got, s.take()...) // b no longer needed: not sent
			},
			want: []string{"10s a"},
		},
		{
			name: "a request not needed leaves the gap as it was",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.scheduleIf(ctx, "a", time.Second, func() bool { return false })
				time.Sleep(time.Second)
				synctest.Wait()      // the conditional one has given up
				r.schedule(ctx, "a") // no request went out: at once
				return s.take()
			},
			want: []string{"1s a"},
		},
		{
			name: "close waits for the waiting request and refuses new ones",
			run: func(ctx context.Context, r *resyncScheduler, s *sent, _ context.CancelFunc) []string {
				r.schedule(ctx, "a")
				synctest.Wait() // the first went out
				r.schedule(ctx, "a")
				r.close() // returns once the second request went out, at the gap
				r.schedule(ctx, "b")
				return s.take()
			},
			want: []string{"0s a", "2s a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &sent{start: time.Now()}
				r := newResyncScheduler(gap, s.send)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				got := tt.run(ctx, r, s, cancel)
				r.close()
				if !slices.Equal(got, tt.want) {
					t.Errorf("sent %q, want %q", got, tt.want)
				}
			})
		})
	}
}
