package publish

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/natsembed"
	"github.com/proctag/proctag/agent/snapshot"
)

// benchHost is a 10k-process, 100k-socket state of p's host, as the
// agent submits it: host record filled in.
func benchHost(p *Publisher) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Host: snapshot.Host{HostID: "host-a", Hostname: "a.example", Epoch: p.Epoch(),
		ScanTime: time.Unix(1764000000, 0), IntervalMS: p.cfg.Interval.Milliseconds()}}
	names := []string{"nginx", "postgres", "java", "python3", "node"}
	for i := range 10_000 {
		n := names[i%len(names)]
		s.Processes = append(s.Processes, snapshot.Process{PID: 100 + i, PPID: 1, StartTime: 1764000000000 + int64(i)*37,
			Name: n, ProcessName: n, Cmdline: fmt.Sprintf("/usr/bin/%s --worker %d --config /etc/%s.conf", n, i, n),
			Exe: "/usr/bin/" + n, User: "svc", UID: 1000, MatchedRule: -1})
	}
	for i := range 100_000 {
		s.Sockets = append(s.Sockets, snapshot.Socket{Proto: "tcp", LocalIP: "10.0.0.1", LocalPort: uint16(1024 + i%60000),
			RemoteIP: fmt.Sprintf("10.1.%d.%d", i%250, i/250%250), RemotePort: uint16(443 + i%3), State: "ESTABLISHED",
			Role: "client", Inode: uint64(1_000_000 + i), PIDs: []int{100 + i%10_000}})
	}
	s.Sort()
	return s
}

// benchPublisher is a publisher connected to an embedded server, driven
// directly (no Run loop) so the benchmark measures encode + publish + flush.
func benchPublisher(b *testing.B) *Publisher {
	b.Helper()
	srv, err := natsembed.Start(natsembed.Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	// A subscriber on the server so messages are really delivered.
	sub, err := nc.Subscribe("proctag.v1.>", func(*nats.Msg) {})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	p, err := New(Config{URL: srv.ClientURL(), HostID: "host-a", Interval: 10 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	p.nc = nc
	if err := p.ensureEncoder(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPublishFull: encode, compress, chunk, publish and flush a full
// 10k/100k snapshot (target: well under a 10 s tick's CPU on 2 cores).
// cpu-ns/op is the CPU time of the whole test process (publisher and
// embedded server, every thread), the number the target is about.
func BenchmarkPublishFull(b *testing.B) {
	p := benchPublisher(b)
	s := benchHost(p)
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		p.sendFull(b.Context(), s)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	var st snapshot.Stats
	p.AddCounters(&st)
	if st.PublishErrors > 0 {
		b.Fatalf("%d publish errors", st.PublishErrors)
	}
	b.ReportMetric(float64(st.LastFullBytes), "wire-bytes")
}

// BenchmarkPublishTick: one tick of a publisher on a 10k/100k host — quiet
// (heartbeat) or typical (5 processes and 50 sockets replaced: a delta) —
// with the wire bytes it cost (target: quiet < 1 KB).
func BenchmarkPublishTick(b *testing.B) {
	for _, churn := range []int{0, 5} {
		b.Run(fmt.Sprintf("churn=%d", churn), func(b *testing.B) {
			p := benchPublisher(b)
			base := benchHost(p)
			next := *base
			next.Processes = append([]snapshot.Process(nil), base.Processes...)
			next.Sockets = append([]snapshot.Socket(nil), base.Sockets...)
			for i := range churn {
				next.Processes[i].StartTime++
				for j := range 10 {
					next.Sockets[i*10+j].Inode += 10_000_000
				}
			}
			next.Sort()
			p.sendFull(b.Context(), base)
			var before snapshot.Stats
			p.AddCounters(&before)
			states := []*snapshot.Snapshot{&next, base}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				p.Submit(states[i%2], snapshot.Stats{})
				p.publish(b.Context())
				i++
			}
			var after snapshot.Stats
			p.AddCounters(&after)
			if after.PublishErrors > 0 {
				b.Fatalf("%d publish errors", after.PublishErrors)
			}
			b.ReportMetric(float64(after.PublishedBytes-before.PublishedBytes)/float64(i), "wire-bytes/tick")
		})
	}
}

// cpuTime is the CPU time (user + system, all threads) the test process
// used so far, in nanoseconds.
func cpuTime(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
