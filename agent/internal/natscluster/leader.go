package natscluster

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// MoveStreamLeader makes running server i the leader of the stream: it
// asks the current leader to step down in favour of i (the JetStream API's
// stream leader step-down with a preferred server) until i leads and every
// running replica is current, or returns an error when ctx ends first.
// Server i must hold a replica of the stream. A test uses it to give the
// stream's leader, a publisher's server and a subscriber's server distinct
// roles before it takes one away.
func (c *Cluster) MoveStreamLeader(ctx context.Context, stream string, i int) error {
	if err := c.checkIndex(i); err != nil {
		return err
	}
	if !c.Running(i) {
		return fmt.Errorf("natscluster: server %d is down", i)
	}
	nc, err := nats.Connect(c.URL(i), nats.Name("natscluster"))
	if err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	defer nc.Close()
	req, _ := json.Marshal(server.JSApiLeaderStepdownRequest{Placement: &server.Placement{Preferred: c.nodes[i].name}})
	for {
		leader, err := c.WaitStreamLeader(ctx, stream)
		if err != nil {
			return err
		}
		if leader == i {
			return nil
		}
		msg, err := nc.RequestWithContext(ctx, fmt.Sprintf(server.JSApiStreamLeaderStepDownT, stream), req)
		if err != nil {
			return fmt.Errorf("natscluster: stream %s step down: %w", stream, err)
		}
		var resp server.JSApiStreamLeaderStepDownResponse
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			return fmt.Errorf("natscluster: stream %s step down: %w", stream, err)
		}
		if resp.Error != nil {
			return fmt.Errorf("natscluster: stream %s step down to server %d: %w", stream, i, resp.Error)
		}
		// The old leader has stepped down; the loop waits for the new one,
		// which is i unless the election chose otherwise.
	}
}
