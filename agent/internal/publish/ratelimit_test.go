package publish

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
)

// fakeClock is the publisher's clock in rate-limit tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// kinds records, in order, the kinds of the messages host-a publishes.
type kinds struct {
	mu   sync.Mutex
	list []snapshot.Kind
}

func recordKinds(t *testing.T, nc *nats.Conn) *kinds {
	t.Helper()
	k := &kinds{}
	_, err := nc.Subscribe("proctag.v1.host-a.*", func(m *nats.Msg) {
		if _, kind, ok := snapshot.ParseSubject("proctag", m.Subject); ok {
			k.mu.Lock()
			k.list = append(k.list, kind)
			k.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return k
}

// wait waits until n messages were received and returns them.
func (k *kinds) wait(t *testing.T, n int) []snapshot.Kind {
	t.Helper()
	var got []snapshot.Kind
	waitfor.Until(t, waitLimit, func() bool {
		k.mu.Lock()
		got = slices.Clone(k.list)
		k.mu.Unlock()
		return len(got) >= n
	}, "received %v, want %d messages", &got, n)
	return got[:n]
}

// TestResyncRequestsAreRateLimited floods an agent with resync requests,
// on its own control subject and on the broadcast one, from many
// requesters: every request is answered at once, and they are all served
// by one full snapshot per ResyncMinGap (here an hour of a fake clock).
func TestResyncRequestsAreRateLimited(t *testing.T) {
	tests := []struct {
		name    string
		subject string
	}{
		{"host control subject", snapshot.ControlSubject("proctag", "host-a")},
		{"broadcast control subject", snapshot.BroadcastControlSubject("proctag")},
	}
	const requesters, perRequester = 8, 25
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, natsembed.Config{})
			got := recordKinds(t, connect(t, srv.ClientURL()))
			clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			p := newPublisher(t, Config{URL: srv.ClientURL(), FullEvery: 1000, ResyncMinGap: time.Hour})
			p.now = clock.Now
			runPublisher(t, p)
			s1 := host(1, proc(10, "a"))
			p.Submit(s1, snapshot.Stats{})
			got.wait(t, 1) // the start snapshot

			var wg sync.WaitGroup
			errs := make(chan error, requesters*perRequester)
			for range requesters {
				nc := connect(t, srv.ClientURL())
				wg.Go(func() {
					for range perRequester {
						msg, err := nc.Request(tt.subject, []byte(`{"op":"resync"}`), waitLimit)
						if err != nil {
							errs <- err
							continue
						}
						var reply snapshot.ControlReply
						if err := json.Unmarshal(msg.Data, &reply); err != nil || !reply.OK || reply.Epoch != p.Epoch() || reply.Seq != 1 {
							errs <- fmt.Errorf("reply %s (%v)", msg.Data, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			waitCounter(t, p, "every request counted", func(st snapshot.Stats) bool { return st.ResyncRequests == requesters*perRequester })

			want := []snapshot.Kind{snapshot.KindSnapshot}
			step := func(what string, do func(), next snapshot.Kind) {
				t.Helper()
				do()
				want = append(want, next)
				if k := got.wait(t, len(want)); !slices.Equal(k, want) {
					t.Fatalf("%s: published %v, want %v", what, k, want)
				}
			}
			step("a tick within the hour", func() { p.Submit(s1, snapshot.Stats{}) }, snapshot.KindHeartbeat)
			step("the hour is over", func() { clock.advance(time.Hour); p.signal() }, snapshot.KindSnapshot)
			// Nothing is asked any more: the next wake-up and tick bring a
			// heartbeat, not a second full snapshot.
			step("the requests were served", func() { p.signal(); p.Submit(s1, snapshot.Stats{}) }, snapshot.KindHeartbeat)
		})
	}
}
