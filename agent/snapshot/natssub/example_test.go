package natssub_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// A downstream service follows every host under the default prefix, reacts
// to each change, and asks the flow index which process is at each end of
// a connection its flow collector saw.
func Example() {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	sub, err := natssub.New(nc, natssub.Config{}, nil) // every host, JetStream when there is a stream
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := sub.Run(ctx); err != nil {
			log.Print(err)
		}
	}()

	flows := natssub.NewFlowIndex(natssub.FlowConfig{})
	go flows.Follow(ctx, sub, func(c snapshot.Change) {
		if c.NeedResync {
			log.Printf("%s: %s, resync asked", c.HostID, c.Reason)
		}
		if c.Delta != nil {
			log.Printf("%s: %d processes added, %d sockets added", c.HostID, len(c.Delta.Added), len(c.Delta.SocketsAdded))
		}
	})

	// Later, for each flow the collector reports:
	ends := flows.Lookup(natssub.Flow{
		Proto: natssub.ProtoTCP,
		Src:   netip.MustParseAddrPort("10.0.0.7:40612"),
		Dst:   netip.MustParseAddrPort("10.0.0.5:8080"),
	})
	fmt.Println(ends.Client.HostID, ends.Client.Name, "->", ends.Server.HostID, ends.Server.Name, ends.Server.How)

	// And which process talks to which, fleet-wide:
	for _, e := range flows.ServiceMap().Edges {
		fmt.Println(e.Client.HostID, e.Client.Name, "->", e.Server.HostID, e.Server.Name, e.Port, e.Open+e.Closed)
	}
}
