package snapshot_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
	fmt.Println("resync:", c.NeedResync, c.Reason)
	// A heartbeat's headers are only those the subject, the host record and
	// the defaults do not give.
	names := slices.Sorted(maps.Keys(hb[0].Header))
	fmt.Println("heartbeat headers:", strings.Join(names, " "))
	// Output:
	// proctag.v1.web-1.snapshot seq 1 processes 1
	// resync: true gap
	// heartbeat headers: Proctag-Epoch Proctag-Msg-Id Proctag-Scan-Time Proctag-Seq
}

// A subscriber refuses what the protocol rules out, and the agent's answer
// to a resync request (Confirm) undoes what it could not rule out: here a
// forged state far ahead, the first thing the subscriber heard of the host.
func ExampleAssembler_Confirm() {
	enc, _ := snapshot.NewEncoder("proctag", 0)
	asm, _ := snapshot.NewAssembler(snapshot.AssemblerConfig{})
	epoch := snapshot.NewEpoch(time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC))
	feed := func(msgs []snapshot.Message) *snapshot.Change {
		c, err := asm.Feed(msgs[0].Subject, msgs[0].Header, msgs[0].Data)
		if err != nil {
			fmt.Println("error:", err)
		}
		return c
	}
	forged := &snapshot.Snapshot{Host: snapshot.Host{HostID: "web-1"},
		Processes: []snapshot.Process{{PID: 666, StartTime: 1, Name: "forged", MatchedRule: -1}}}
	msgs, _ := enc.EncodeSnapshot(snapshot.Envelope{HostID: "web-1", Epoch: epoch, Seq: 1_000_000, MsgID: 9}, forged)
	feed(msgs)
	// The agent's next heartbeat says its last state is seq 41.
	hb, _ := enc.EncodeHeartbeat(snapshot.Envelope{HostID: "web-1", Epoch: epoch, Seq: 41, MsgID: 50}, &snapshot.Stats{})
	c := feed(hb)
	fmt.Println("heartbeat:", c.Reason)
	// The subscriber asks the agent, which answers epoch and seq 41.
	c, _ = asm.Confirm("web-1", epoch, 41)
	info, _ := asm.Info("web-1")
	fmt.Println("answer:", c.Reason, "synced:", info.Synced, "suspect:", info.Suspect)
	// The resync snapshot the request brought replaces the forged state.
	real := &snapshot.Snapshot{Host: snapshot.Host{HostID: "web-1"},
		Processes: []snapshot.Process{{PID: 10, StartTime: 1000, Name: "nginx", MatchedRule: -1}}}
	msgs, _ = enc.EncodeSnapshot(snapshot.Envelope{HostID: "web-1", Epoch: epoch, Seq: 42, MsgID: 51}, real)
	c = feed(msgs)
	fmt.Println("resync:", c.Seq, c.State.Processes[0].Name)
	// Output:
	// heartbeat: heartbeat behind
	// answer: state ahead of the agent synced: false suspect: true
	// resync: 42 nginx
}
