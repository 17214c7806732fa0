package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/proctag/proctag/agent/internal/natscluster"
	"github.com/proctag/proctag/agent/internal/waitfor"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// The tests in this file run the publisher and the subscriber on a real
// 3-server nats-server cluster with the stream replicated on all three.

// clusterState is state k of host id: one steady process and one whose pid
// (100+k) and name change with k, so that every state differs from the
// others and a subscriber's state tells which one it is (stateIndex).
func clusterState(id string, k int) *snapshot.Snapshot {
	s := host(k, proc(10, "steady"), proc(100+k, fmt.Sprintf("worker-%d", k)))
	s.Host.HostID = id
	return s
}

// stateIndex is the k of a clusterState, -1 when s is none.
func stateIndex(s *snapshot.Snapshot) int {
	for _, p := range s.Processes {
		if p.PID >= 100 {
			return p.PID - 100
		}
	}
	return -1
}

// connectTo connects to server i of c first, and to the others when it
// goes away.
func connectTo(t *testing.T, c *natscluster.Cluster, i int) *nats.Conn {
	t.Helper()
	urls := c.URLs()
	urls = append(urls[i:], urls[:i]...)
	nc, err := nats.Connect(strings.Join(urls, ","), nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// clientName is the connection name of host's publisher (Run's nats.Name).
func clientName(host string) string { return "proctag " + host }

// TestClusterStreamReplicas checks that the agent creates the stream on
// StreamLimits.Replicas servers, raises a lower count, keeps an operator's
// higher one, and publishes on core NATS when the cluster cannot hold the
// replicas asked.
func TestClusterStreamReplicas(t *testing.T) {
	c := natscluster.StartTB(t, natscluster.Options{})
	js, err := jetstream.New(connect(t, c.ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		existing int // replicas of the operator's stream, 0 for none
		config   int
		want     int      // replicas of the stream after the agent's start, 0 for no stream
		wantLog  []string // in the agent's log; none: no word on the stream
	}{
		{name: "a new stream gets the configured replicas", config: 3, want: 3},
		{name: "unset is one replica", want: 1},
		{name: "a single replica is raised", existing: 1, config: 3, want: 3},
		{name: "an operator's higher count is kept", existing: 3, config: 1, want: 3,
			wantLog: []string{"tighter limits than the config, keeping them", "limits=replicas=3"}},
		{name: "more replicas than servers: no stream, core nats", config: 5,
			wantLog: []string{"jetstream publish failed, using core nats", "no suitable peers"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A stream of its own: a stream deleted and made again at once
			// under the same name can fail on a replica still removing it.
			prefix := fmt.Sprintf("replicas%d", i)
			name := snapshot.StreamName(prefix)
			if tt.existing > 0 {
				sc := StreamConfig(prefix, StreamLimits{Replicas: tt.existing})
				if _, err := js.CreateStream(t.Context(), sc); err != nil {
					t.Fatal(err)
				}
			}
			var logs syncBuffer
			p, err := New(Config{URL: c.ClientURL(), SubjectPrefix: prefix, HostID: "host-a", Interval: 10 * time.Second, JetStream: true,
				StreamLimits: StreamLimits{Replicas: tt.config}}, hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &logs}))
			if err != nil {
				t.Fatal(err)
			}
			stop := runPublisher(t, p)
			p.Submit(host(1, proc(10, "a")), snapshot.Stats{})
			waitCounter(t, p, "a full snapshot published", func(st snapshot.Stats) bool { return st.PublishedMessages >= 1 })
			stop()
			s, err := js.Stream(t.Context(), name)
			if tt.want > 0 {
				// The server that answers may not have applied the
				// stream's assignment yet: "not found" until it has.
				waitfor.Until(t, waitLimit, func() bool {
					s, err = js.Stream(t.Context(), name)
					return !errors.Is(err, jetstream.ErrStreamNotFound)
				}, "stream %s found (the agent, stopped, logged:\n%s)", name, logs.String())
			}
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("a stream of %d replicas exists, want none", s.CachedInfo().Config.Replicas)
			case tt.want == 0 && !errors.Is(err, jetstream.ErrStreamNotFound):
				t.Fatal(err)
			case tt.want > 0 && err != nil:
				t.Fatal(err)
			case tt.want > 0:
				if got := s.CachedInfo().Config.Replicas; got != tt.want {
					t.Fatalf("stream replicas %d, want %d", got, tt.want)
				}
				if n := s.CachedInfo().State.Msgs; n == 0 {
					t.Fatal("the full snapshot was not stored")
				}
			}
			got := logs.String()
			for _, w := range tt.wantLog {
				if !strings.Contains(got, w) {
					t.Fatalf("logs:\n%s\nwant %q in them", got, w)
				}
			}
			if len(tt.wantLog) == 0 && strings.Contains(got, "jetstream") {
				t.Fatalf("logs:\n%s\nwant no word on jetstream", got)
			}
		})
	}
}

// follower reads a subscriber's changes of one host and checks each state
// it delivers: always one the agent submitted (states), never older than
// one delivered before it.
type follower struct {
	t      *testing.T
	w      *watcher
	host   string
	states []*snapshot.Snapshot // the agent's states, by clusterState index
	last   int                  // index of the newest state delivered, -1 before
	gaps   int                  // changes that asked for a resync
}

// reach reads changes until the subscriber has state k, and reports
// whether it did before deadline.
func (f *follower) reach(k int, deadline time.Time) bool {
	f.t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case c, open := <-f.w.sub.Changes():
			if !open {
				f.t.Fatal("changes closed")
			}
			if c.HostID != f.host {
				continue
			}
			if c.NeedResync {
				f.gaps++
				f.t.Logf("gap at seq %d: %s", c.Seq, c.Reason)
			}
			if c.State == nil {
				continue
			}
			i := stateIndex(c.State)
			if i < 0 || i >= len(f.states) || !sameContent(c.State, f.states[i]) {
				f.t.Fatalf("the subscriber has a state the agent never had: %+v", c.State.Processes)
			}
			if i < f.last {
				f.t.Fatalf("the subscriber went back from state %d to %d", f.last, i)
			}
			f.last = i
			if i == k {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}

// TestClusterFollowThroughTheLossOfAServer runs an agent and a subscriber
// on different servers of a 3-server cluster whose third server leads the
// stream (replicated on all three), and takes one server away: the
// agent's, the subscriber's or the stream leader's. The agent goes on
// submitting a new state each time the subscriber has the last one (or
// after stepWait, as its next tick would), until the subscriber has had
// several in a row after the loss. Every state the subscriber delivers
// must be one the agent had, never older than the one before; it must end
// with the agent's last state, in sync, of the agent's epoch. A message
// the loss took shows as a gap that a resync repairs.
func TestClusterFollowThroughTheLossOfAServer(t *testing.T) {
	const (
		stepWait = 2 * time.Second // an agent's tick: what was missed shows at the next
		inARow   = 3               // states delivered in a row that end the test
		// lossLimit bounds the recovery. The slowest seen: a subscriber
		// whose server was also the meta leader waits 11 s, nats.go's
		// ordered consumer giving its re-creation request, lost in the
		// meta leader's hand-over, 10 s before it asks again.
		lossLimit = 30 * time.Second
	)
	tests := []struct {
		name string
		kill string // "", "publisher", "subscriber", "leader"
	}{
		{"no server lost", ""},
		{"the agent's server", "publisher"},
		{"the stream leader", "leader"},
		{"the subscriber's server", "subscriber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := natscluster.StartTB(t, natscluster.Options{})
			const id = "host-a"
			states := []*snapshot.Snapshot{clusterState(id, 0)}
			p := startPublisher(t, Config{URL: c.ClientURL(), HostID: id, JetStream: true, StreamLimits: StreamLimits{Replicas: 3}})
			p.Submit(states[0], snapshot.Stats{})
			waitCounter(t, p, "the first full snapshot", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
			pubNode := c.NodeOf(clientName(id))
			if pubNode < 0 {
				t.Fatal("the agent is connected to no server")
			}
			subNode, leaderNode := (pubNode+1)%3, (pubNode+2)%3
			if err := c.MoveStreamLeader(t.Context(), snapshot.StreamName("proctag"), leaderNode); err != nil {
				t.Fatal(err)
			}
			w := startSubscriber(t, connectTo(t, c, subNode), natssub.Config{HostID: id})
			w.ready()
			if !w.sub.UsesJetStream() {
				t.Fatal("the subscriber does not use the stream")
			}
			f := &follower{t: t, w: w, host: id, states: states, last: -1}
			// follow submits a new state, as the agent's next tick would,
			// each time the subscriber has the last one or after stepWait,
			// until the subscriber had inARow in a row, and returns how long
			// until it had the first.
			follow := func(what string, limit time.Duration) time.Duration {
				start := time.Now()
				deadline := start.Add(limit)
				var first time.Duration
				for row := 0; row < inARow; {
					if time.Now().After(deadline) {
						t.Fatalf("%s: the subscriber did not follow %d states in a row within %s (has %d of %d)", what, inARow, limit, f.last, len(f.states)-1)
					}
					k := len(f.states)
					f.states = append(f.states, clusterState(id, k))
					p.Submit(f.states[k], snapshot.Stats{})
					step := time.Now().Add(stepWait)
					if step.After(deadline) {
						step = deadline
					}
					if !f.reach(k, step) {
						row = 0
						continue
					}
					row++
					if first == 0 {
						first = time.Since(start)
					}
				}
				return first
			}
			follow("before the loss", waitLimit)
			before, gapsBefore := len(f.states), f.gaps

			victim := map[string]int{"publisher": pubNode, "subscriber": subNode, "leader": leaderNode}[tt.kill]
			metaNode := c.MetaLeader()
			if tt.kill != "" {
				if err := c.Kill(victim); err != nil {
					t.Fatal(err)
				}
			}
			firstBack := follow("after the loss", lossLimit)

			got, ok := w.sub.State(id)
			info, _ := w.sub.Info(id)
			want := f.states[len(f.states)-1]
			if !ok || !sameContent(got, want) || !info.Synced || info.Epoch != p.Epoch() {
				t.Fatalf("subscriber ends with state %d, synced %v, epoch %q; want state %d of epoch %q",
					stateIndex(got), info.Synced, info.Epoch, len(f.states)-1, p.Epoch())
			}
			var st snapshot.Stats
			p.AddCounters(&st)
			if f.gaps > 0 && st.ResyncRequests == 0 && st.Reconnects == 0 {
				t.Fatalf("%d gaps, and neither a resync nor a reconnect sent a full snapshot", f.gaps)
			}
			t.Logf("killed %s (server %d; meta leader %d): first state after %s; %d states submitted after it; gaps %d before, %d after; agent: %d reconnects, %d resync requests, %d publish errors",
				tt.kill, victim, metaNode, firstBack.Round(time.Millisecond), len(f.states)-before, gapsBefore, f.gaps-gapsBefore, st.Reconnects, st.ResyncRequests, st.PublishErrors)
		})
	}
}

// TestClusterLateSubscriber starts three agents, each on its own server,
// lets each publish a full snapshot and a delta into the stream
// replicated on all three servers, then takes away the server that leads
// the stream and one agent's connection with it. A subscriber that joins
// afterwards, on another server, gets every host's last state from the
// stream, without asking any agent.
func TestClusterLateSubscriber(t *testing.T) {
	c := natscluster.StartTB(t, natscluster.Options{})
	hosts := []string{"host-a", "host-b", "host-c"}
	var pubs []*Publisher
	for i, id := range hosts {
		p := startPublisher(t, Config{URL: c.URL(i), HostID: id, JetStream: true, StreamLimits: StreamLimits{Replicas: 3}})
		p.Submit(clusterState(id, 1), snapshot.Stats{})
		waitCounter(t, p, id+"'s full snapshot", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
		p.Submit(clusterState(id, 2), snapshot.Stats{})
		waitCounter(t, p, id+"'s delta", func(st snapshot.Stats) bool { return st.PublishedMessages >= 2 })
		if n := c.NodeOf(clientName(id)); n != i {
			t.Fatalf("%s's agent is on server %d, want %d", id, n, i)
		}
		pubs = append(pubs, p)
	}
	js, err := jetstream.New(connectTo(t, c, 2))
	if err != nil {
		t.Fatal(err)
	}
	name := snapshot.StreamName("proctag")
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	waitfor.Until(t, waitLimit, func() bool {
		info, err := s.Info(t.Context())
		if err == nil {
			msgs = info.State.Msgs
		}
		return msgs == uint64(2*len(hosts))
	}, "the stream holds %d messages, want a full snapshot and a delta of each host", &msgs)
	if err := c.MoveStreamLeader(t.Context(), name, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(0); err != nil {
		t.Fatal(err)
	}
	// The subscriber's consumer is made through the meta leader (the
	// killed server may have been it) and served by the stream's leader;
	// one that cannot be made within the subscriber's request timeout
	// leaves it on core nats.
	killed := time.Now()
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitStreamLeader(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	t.Logf("meta and stream leaders %d and %d, %s after the loss", c.MetaLeader(), c.StreamLeader(name), time.Since(killed).Round(time.Millisecond))

	w := startSubscriber(t, connectTo(t, c, 2), natssub.Config{})
	w.ready()
	if !w.sub.UsesJetStream() {
		t.Fatal("the late subscriber does not use the stream")
	}
	want := map[string]*snapshot.Snapshot{}
	for _, id := range hosts {
		want[id] = clusterState(id, 2)
	}
	for len(want) > 0 {
		ch := w.waitChange(fmt.Sprintf("the states of %d more hosts", len(want)), func(ch snapshot.Change) bool {
			return ch.State != nil && want[ch.HostID] != nil && sameContent(ch.State, want[ch.HostID])
		})
		delete(want, ch.HostID)
	}
	for i, p := range pubs {
		var st snapshot.Stats
		p.AddCounters(&st)
		if st.ResyncRequests != 0 {
			t.Errorf("%s's agent was asked for %d resyncs; the stream should have had its state", hosts[i], st.ResyncRequests)
		}
	}
}

// TestClusterSubscriberWaitsForTheStream starts a subscriber while the
// cluster has lost two of its three servers, so that JetStream has no meta
// leader and the stream does not answer: the subscriber asks again until
// the servers are back, then follows the stream (not core nats) and has
// the host's state.
func TestClusterSubscriberWaitsForTheStream(t *testing.T) {
	c := natscluster.StartTB(t, natscluster.Options{})
	p := startPublisher(t, Config{URL: c.URL(0), HostID: "host-a", JetStream: true, StreamLimits: StreamLimits{Replicas: 3}})
	p.Submit(clusterState("host-a", 1), snapshot.Stats{})
	waitCounter(t, p, "a full snapshot stored", func(st snapshot.Stats) bool { return st.LastFullBytes > 0 })
	for _, i := range []int{1, 2} {
		if err := c.Kill(i); err != nil {
			t.Fatal(err)
		}
	}

	var logs syncBuffer
	sub, err := natssub.New(connectTo(t, c, 0), natssub.Config{RequestTimeout: 500 * time.Millisecond, StreamRetry: time.Minute},
		hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &logs}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("subscriber Run: %v", err)
		}
	}()
	waitfor.Until(t, waitLimit, func() bool { return strings.Contains(logs.String(), "asking again") },
		"the subscriber asks for the stream again")
	for _, i := range []int{1, 2} {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sub.Ready():
	case <-time.After(waitLimit):
		t.Fatalf("subscriber not ready within %s; logs:\n%s", waitLimit, logs.String())
	}
	if !sub.UsesJetStream() {
		t.Fatalf("the subscriber follows core nats, want the stream; logs:\n%s", logs.String())
	}
	waitfor.Until(t, waitLimit, func() bool {
		st, ok := sub.State("host-a")
		return ok && sameContent(st, clusterState("host-a", 1))
	}, "the subscriber has host-a's state from the stream")
}
