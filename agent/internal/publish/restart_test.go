package publish

import (
	"fmt"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// restartInterval is the agent's tick interval in the restart test; its
// reconnect wait is then capped at half of it (defaultReconnectWaitMax).
const restartInterval = time.Second

// restartMargin is added to restartInterval for the deadline after each
// restart. Within the interval the agent's next attempt comes (at most
// restartInterval/2 after the server's return, whatever the outage); what
// follows is loopback work of a few milliseconds: the handshake, the
// subscriber's own reconnect (it retries every 50 ms) and resync request,
// the encoding and flush of a two-process snapshot. The margin absorbs
// scheduling delays on a loaded 2-core machine under -race, and stays below
// the 2.75 s that a doubling backoff (250 ms, 500 ms, ... 4 s) leaves
// between a 5 s outage's end and the next attempt, so the test tells the
// two apart.
const restartMargin = time.Second

// TestReconnectsWithinAnIntervalOfEachRestart shuts the NATS server down
// and starts it again on the same port, several times with outages of
// different lengths. After each return the agent must be connected again,
// and a subscriber must have the state submitted during the outage as a
// full snapshot, within one interval (plus the margin above) of the
// server's return.
func TestReconnectsWithinAnIntervalOfEachRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("outages add up to several seconds")
	}
	tests := []struct {
		name      string
		jetStream bool
		outages   []time.Duration
	}{
		{"core nats", false, []time.Duration{50 * time.Millisecond, 5 * time.Second, 800 * time.Millisecond, 300 * time.Millisecond, 1500 * time.Millisecond}},
		{"jetstream", true, []time.Duration{50 * time.Millisecond, 1500 * time.Millisecond, 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srvCfg := natsembed.Config{JetStream: tt.jetStream}
			if tt.jetStream {
				srvCfg.StoreDir = t.TempDir() // kept across restarts, like the agent's state directory
			}
			srv := startServer(t, srvCfg)
			srvCfg.Listen = srv.Addr().String()
			url := srv.ClientURL()

			// The production defaults but for the resync spacing: what is
			// measured is how soon the agent is back, not how a subscriber
			// that came back after it is rate limited.
			p, err := New(Config{URL: url, HostID: "host-a", Interval: restartInterval, FullEvery: 1000,
				JetStream: tt.jetStream, ResyncMinGap: 10 * time.Millisecond}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if p.cfg.ReconnectWaitMax != restartInterval/2 {
				t.Fatalf("reconnect wait capped at %s, want half the interval", p.cfg.ReconnectWaitMax)
			}
			runPublisher(t, p)
			// A core subscriber of the one host: after each reconnect of
			// its own it asks the agent again, so it has the state whether
			// it or the agent came back first.
			w := startSubscriber(t, connect(t, url), natssub.Config{HostID: "host-a", NoJetStream: true})
			last := host(0, proc(10, "init"))
			p.Submit(last, snapshot.Stats{})
			w.waitState("host-a", last)

			for i, outage := range tt.outages {
				srv.Shutdown()
				last = host(i+1, proc(10, "init"), proc(100+i, fmt.Sprintf("after-outage-%d", i)))
				p.Submit(last, snapshot.Stats{}) // never blocks; goes out in full on the return
				<-time.After(outage)             // the outage itself, not a synchronisation
				srv = startServer(t, srvCfg)
				back := time.Now()
				deadline := back.Add(restartInterval + restartMargin)

				var st snapshot.Stats
				waitfor.Until(t, time.Until(deadline), func() bool {
					st = snapshot.Stats{}
					p.AddCounters(&st)
					return st.Reconnects >= uint64(i+1)
				}, "outage %d (%s): agent not reconnected in time: %+v", i, outage, &st)
				c := w.waitBefore(deadline, fmt.Sprintf("outage %d (%s): the full snapshot of the state submitted while away", i, outage),
					func(c snapshot.Change) bool {
						return c.Kind == snapshot.KindSnapshot && c.State != nil && sameContent(c.State, last)
					})
				t.Logf("outage %d of %s: full snapshot seq %d %s after the server's return", i, outage, c.Seq, time.Since(back).Round(time.Millisecond))
			}

			// A tick after the last return goes out as a delta on the full
			// snapshot, and the subscriber ends on exactly that state.
			last = host(len(tt.outages)+1, proc(10, "init"), proc(999, "final"))
			p.Submit(last, snapshot.Stats{})
			if c := w.waitState("host-a", last); c.Kind != snapshot.KindDelta {
				t.Errorf("the tick after the restarts came as %s, want a delta", c.Kind)
			}
			if got, ok := w.sub.State("host-a"); !ok || !sameContent(got, last) {
				t.Fatalf("subscriber ends on %+v, want the last submitted state %+v", got, last)
			}
			var st snapshot.Stats
			p.AddCounters(&st)
			if st.Reconnects != uint64(len(tt.outages)) {
				t.Errorf("%d reconnects counted, want %d", st.Reconnects, len(tt.outages))
			}
			if tt.jetStream {
				// The stream kept the last full snapshot through the
				// restarts: a late subscriber replays it without asking.
				late := startSubscriber(t, connect(t, url), natssub.Config{HostID: "host-a"})
				late.waitState("host-a", last)
				if !late.sub.UsesJetStream() {
					t.Error("late subscriber did not use the stream")
				}
			}
		})
	}
}
