package snapshot_test

import (
	"fmt"
	"strconv"

	"github.com/proctag/proctag/agent/snapshot"
)

// Diff and Apply: a delta carries only what changed, keyed by (pid, start
// time), and rebuilds the next state from the previous one.
func ExampleDiff() {
	prev := &snapshot.Snapshot{
		Host: snapshot.Host{HostID: "web-1"},
		Processes: []snapshot.Process{
			{PID: 10, StartTime: 1000, Name: "nginx", MatchedRule: -1},
			{PID: 20, StartTime: 2000, Name: "cron", MatchedRule: -1},
		},
	}
	next := &snapshot.Snapshot{
		Host: snapshot.Host{HostID: "web-1"},
		Processes: []snapshot.Process{
			{PID: 10, StartTime: 1000, Name: "nginx", MatchedRule: -1},
			{PID: 30, StartTime: 3000, Name: "billing", MatchedRule: 0},
		},
	}
	d := snapshot.Diff(prev, next)
	fmt.Println("added:", d.Added[0].Name, "removed pid:", d.Removed[0].PID, "empty:", d.Empty())
	got, err := d.Apply(prev)
	if err != nil {
		panic(err)
	}
	for _, p := range got.Processes {
		fmt.Println(p.PID, p.Name)
	}
	// Output:
	// added: billing removed pid: 20 empty: false
	// 10 nginx
	// 30 billing
}

// An Assembler rebuilds a host's state from wire messages; here the
// messages come straight from an Encoder instead of NATS.
func ExampleAssembler() {
	enc, err := snapshot.NewEncoder("proctag", 0)
	if err != nil {
		panic(err)
	}
	asm, err := snapshot.NewAssembler(snapshot.AssemblerConfig{Prefix: "proctag"})
	if err != nil {
		panic(err)
	}
	env := snapshot.Envelope{HostID: "web-1", Epoch: "0000018c0a1b2c3d-00000001", Seq: 1, MsgID: 1, IntervalMS: 10000}
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: "web-1"},
		Processes: []snapshot.Process{{PID: 10, StartTime: 1000, Name: "nginx", MatchedRule: -1}}}
	msgs, err := enc.EncodeSnapshot(env, s)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		c, err := asm.Feed(m.Subject, m.Header, m.Data)
		if err != nil {
			panic(err)
		}
		fmt.Println(m.Subject, "seq", c.Seq, "processes", len(c.State.Processes))
	}
	// A heartbeat that announces seq 2 reveals a lost state message.
	env.Seq, env.MsgID = 2, 2
	hb, _ := enc.EncodeHeartbeat(env, &snapshot.Stats{})
	c, _ := asm.Feed(hb[0].Subject, hb[0].Header, hb[0].Data)
	fmt.Println("resync:", c.NeedResync, c.Reason, "chunks:", hb[0].Header[snapshot.HeaderChunks][0], "size ok:", strconv.Itoa(len(hb[0].Data)) == hb[0].Header[snapshot.HeaderSize][0])
	// Output:
	// proctag.v1.web-1.snapshot seq 1 processes 1
	// resync: true gap chunks: 1 size ok: true
}
