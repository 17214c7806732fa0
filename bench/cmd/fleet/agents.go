package main

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/publish"
	"github.com/proctag/proctag/agent/snapshot"
)

// agentOptions are what every simulated agent shares.
type agentOptions struct {
	// interval is the tick interval; the hosts' first ticks are spread
	// evenly over the first one.
	interval time.Duration
	// churnJobs and churnConns are what one churning tick changes: jobs
	// ended and started, connections to other hosts closed and opened.
	churnJobs, churnConns int
	// seed seeds the agents' churn decisions and stats.
	seed uint64
}

// agent is one simulated host's agent: a tick loop that submits the
// host's state to a real publisher, which publishes on its own NATS
// connection.
type agent struct {
	host *simHost // guarded by the fleet's mutex
	pub  *publish.Publisher
	// node is the cluster server the publisher connects to.
	node int
	rng  *rand.Rand // the tick loop's: stats

	mu   sync.Mutex
	subs [4]submission // the last states submitted, newest at (next-1)%len
	next int
	n    int

	ticks, quiet uint64 // owned by the tick loop
	lastDigest   digest
}

// submission is one state submitted: its digest, when, and the fleet's
// generation then.
type submission struct {
	d   digest
	at  time.Time
	gen uint64
}

// agents runs the fleet's agents and decides which hosts churn.
type agents struct {
	fleet *fleet
	opts  agentOptions
	list  []*agent
	// share is the fraction of hosts that churn at each tick
	// (math.Float64bits), 0 for a quiet fleet.
	share atomic.Uint64

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// startAgents starts one publisher per host of f, host i's connected to
// urls[i%len(urls)] (with JetStream, the stream on replicas servers), and
// the hosts' tick loops. Stop stops them.
func startAgents(f *fleet, urls []string, replicas int, o agentOptions, logger hclog.Logger) (*agents, error) {
	ctx, cancel := context.WithCancel(context.Background())
	a := &agents{fleet: f, opts: o, cancel: cancel}
	start := time.Now()
	for i, h := range f.hosts {
		node := i % len(urls)
		// nats.go shuffles a list of URLs (the publisher does not ask it
		// not to): the publisher is given its server only, and learns the
		// others from the cluster, as a client of a cluster does.
		pub, err := publish.New(publish.Config{
			URL: urls[node], HostID: h.id, JetStream: true, Interval: o.interval,
			StreamLimits: publish.StreamLimits{Replicas: replicas},
		}, logger)
		if err != nil {
			a.Stop()
			return nil, err
		}
		ag := &agent{host: h, pub: pub, node: node, rng: rand.New(rand.NewPCG(o.seed^0x5eed, uint64(i)))}
		a.list = append(a.list, ag)
		a.wg.Go(func() { _ = pub.Run(ctx) })
		first := start.Add(time.Duration(i) * o.interval / time.Duration(len(f.hosts)))
		a.wg.Go(func() { a.loop(ctx, ag, first) })
	}
	return a, nil
}

// Stop stops the tick loops and the publishers (each drains its
// connection) and waits for them.
func (a *agents) Stop() {
	a.cancel()
	a.wg.Wait()
}

// setChurn sets the share of hosts that churn at each tick.
func (a *agents) setChurn(share float64) { a.share.Store(math.Float64bits(share)) }

// stopChurn stops the churn and returns the fleet's new generation: once
// every host has submitted a state of that generation (sinceGen), every
// change of the churn, on both ends of each connection, has been
// submitted.
func (a *agents) stopChurn() uint64 {
	a.setChurn(0)
	a.fleet.mu.Lock()
	defer a.fleet.mu.Unlock()
	a.fleet.gen++
	return a.fleet.gen
}

// sinceGen reports whether every host has submitted a state of
// generation gen or later.
func (a *agents) sinceGen(gen uint64) bool {
	for _, ag := range a.list {
		ag.mu.Lock()
		last := ag.subs[(ag.next-1+len(ag.subs))%len(ag.subs)]
		ag.mu.Unlock()
		if last.gen < gen {
			return false
		}
	}
	return true
}

// loop ticks ag's host every interval from first until ctx ends; a tick
// that is late (the machine overloaded) is not made up for.
func (a *agents) loop(ctx context.Context, ag *agent, first time.Time) {
	next := first
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.tick(ag, time.Now())
		for next = next.Add(a.opts.interval); !next.After(time.Now()); next = next.Add(a.opts.interval) {
		}
		t.Reset(time.Until(next))
	}
}

// tick makes the host's state of one tick (churned or not) and submits
// it, after recording its digest.
func (a *agents) tick(ag *agent, now time.Time) {
	f := a.fleet
	f.mu.Lock()
	gen := f.gen
	if share := math.Float64frombits(a.share.Load()); share > 0 && ag.host.rng.Float64() < share {
		f.churn(ag.host, a.opts.churnJobs, a.opts.churnConns, now)
	}
	s, changed := ag.host.snapshot(now, ag.pub.Epoch(), a.opts.interval)
	f.mu.Unlock()

	ag.ticks++
	if changed || ag.ticks == 1 {
		ag.lastDigest = stateDigest(s)
	} else {
		ag.quiet++
	}
	ag.mu.Lock()
	ag.subs[ag.next] = submission{d: ag.lastDigest, at: now, gen: gen}
	ag.next = (ag.next + 1) % len(ag.subs)
	ag.n = min(ag.n+1, len(ag.subs))
	ag.mu.Unlock()

	// What a real agent reports: its scan and tick times vary, its
	// resident set moves a little.
	scan := 1500 + ag.rng.Int64N(1000)
	ag.pub.Submit(s, snapshot.Stats{
		ScanMicros: scan, TickMicros: scan + 200 + ag.rng.Int64N(300),
		Processes: len(s.Processes), Sockets: len(s.Sockets), ProcessesSeen: len(s.Processes) + 40,
		Ticks: ag.ticks, QuietTicks: ag.quiet, RSSBytes: 38<<20 + ag.rng.Int64N(64)<<12,
	})
}

// current reports whether d is a state ag submitted at or after the last
// one it had submitted by t: the subscriber has everything up to t. With
// nothing submitted by t, any state submitted counts.
func (ag *agent) current(d digest, by time.Time) bool {
	ag.mu.Lock()
	defer ag.mu.Unlock()
	for k := 1; k <= ag.n; k++ {
		sub := ag.subs[(ag.next-k+len(ag.subs))%len(ag.subs)]
		if sub.d == d {
			return true
		}
		if !sub.at.After(by) {
			return false // older ones are too old
		}
	}
	return false
}

// submitted reports whether ag has submitted a state yet.
func (ag *agent) submitted() bool {
	ag.mu.Lock()
	defer ag.mu.Unlock()
	return ag.n > 0
}

// counters adds up the publishers' counters.
func (a *agents) counters() snapshot.Stats {
	var sum snapshot.Stats
	for _, ag := range a.list {
		var st snapshot.Stats
		ag.pub.AddCounters(&st)
		sum.PublishedBytes += st.PublishedBytes
		sum.PublishedMessages += st.PublishedMessages
		sum.Reconnects += st.Reconnects
		sum.PublishErrors += st.PublishErrors
		sum.ResyncRequests += st.ResyncRequests
	}
	return sum
}
