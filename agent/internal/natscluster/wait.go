package natscluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// poll is how often the waits look at the servers' state again; nothing
// announces a route or a leader, so the waits poll it until a deadline.
const poll = 10 * time.Millisecond

// account is the account clients without credentials use, where their
// streams live.
const account = server.DEFAULT_GLOBAL_ACCOUNT

// WaitReady waits until every running server routes to every other running
// server and, with JetStream, one of them is the meta leader and all are
// current with it and the leader has heard every running server's
// statistics (it places a new stream's replicas only on servers it has
// heard: until then, asking for a replica on each server fails with "no
// suitable peers for placement, peer offline"; nats-server's own cluster
// tests wait for the same count, JetStreamClusterPeers), or returns
// an error describing each server's state when ctx ends first. With fewer
// than a majority of the servers running no leader is elected: it returns
// the error at ctx's deadline.
func (c *Cluster) WaitReady(ctx context.Context) error {
	return c.wait(ctx, "the cluster is not ready", func() (bool, string) {
		srvs, idx := c.running()
		var state []string
		ok, leaders := true, 0
		for k, s := range srvs {
			remotes := s.NumRemotes()
			st := fmt.Sprintf("server %d: routes to %d of %d", idx[k], remotes, len(srvs)-1)
			if remotes != len(srvs)-1 {
				ok = false
			}
			if !c.opts.NoJetStream {
				leader, current := s.JetStreamIsLeader(), s.JetStreamIsCurrent()
				if leader {
					leaders++
				}
				ok = ok && current
				st += fmt.Sprintf(", meta leader %v, current %v", leader, current)
			}
			state = append(state, st)
		}
		if !c.opts.NoJetStream && leaders != 1 {
			ok = false
		}
		if !c.opts.NoJetStream && ok {
			if heard := unheard(srvs); len(heard) > 0 {
				ok = false
				state = append(state, "the meta leader has no statistics of "+strings.Join(heard, ", "))
			}
		}
		if len(srvs) == 0 {
			return false, "no server is running"
		}
		return ok, strings.Join(state, "; ")
	})
}

// unheard returns the names of the running servers srvs whose statistics
// the meta leader among them has not received (JetStreamClusterPeers), the
// ones it would not place a stream's replica on.
func unheard(srvs []*server.Server) []string {
	var peers []string
	for _, s := range srvs {
		if s.JetStreamIsLeader() {
			peers = s.JetStreamClusterPeers()
		}
	}
	var missing []string
	for _, s := range srvs {
		if !slices.Contains(peers, s.Name()) {
			missing = append(missing, s.Name())
		}
	}
	return missing
}

// MetaLeader is the index of the running server that leads JetStream's
// meta group (stream and consumer placement), or -1 when none does.
func (c *Cluster) MetaLeader() int {
	srvs, idx := c.running()
	for k, s := range srvs {
		if s.JetStreamIsLeader() {
			return idx[k]
		}
	}
	return -1
}

// StreamLeader is the index of the running server that leads the stream
// named stream (in the account of clients without credentials), or -1 when
// none does, as while a new leader is being elected.
func (c *Cluster) StreamLeader(stream string) int {
	srvs, idx := c.running()
	for k, s := range srvs {
		if s.JetStreamIsStreamLeader(account, stream) {
			return idx[k]
		}
	}
	return -1
}

// WaitStreamLeader waits until a running server leads the stream and every
// running server that holds a replica of it is current with the leader,
// and returns the leader's index, or an error when ctx ends first.
func (c *Cluster) WaitStreamLeader(ctx context.Context, stream string) (int, error) {
	leader := -1
	err := c.wait(ctx, "stream "+stream+" has no leader", func() (bool, string) {
		leader = c.StreamLeader(stream)
		if leader < 0 {
			return false, "no running server leads it"
		}
		srvs, idx := c.running()
		for k, s := range srvs {
			if !s.JetStreamIsStreamCurrent(account, stream) {
				return false, fmt.Sprintf("server %d leads it, server %d is not current", leader, idx[k])
			}
		}
		return true, ""
	})
	if err != nil {
		return -1, err
	}
	return leader, nil
}

// NodeOf is the index of the running server the client connection named
// name (nats.Name) is connected to, or -1 when none has it.
func (c *Cluster) NodeOf(name string) int {
	srvs, idx := c.running()
	for k, s := range srvs {
		cz, err := s.Connz(&server.ConnzOptions{Limit: s.NumClients() + 1})
		if err != nil {
			continue // shutting down
		}
		for _, ci := range cz.Conns {
			if ci.Name == name {
				return idx[k]
			}
		}
	}
	return -1
}

// wait calls cond every poll until it returns true or ctx ends; then the
// error says what, and the last state cond described.
func (c *Cluster) wait(ctx context.Context, what string, cond func() (bool, string)) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: %s: %s: %w", what, state, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
