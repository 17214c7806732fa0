package procevents

import (
	"testing"
)

// benchDatagrams are one datagram per kind a busy host sends most: fork,
// exec, comm and exit of a process, and a thread's fork and exit.
func benchDatagrams(b *testing.B) [][]byte {
	var out [][]byte
	for _, name := range []string{"fork of a process", "exec", "comm", "exit of a process", "fork of a thread", "exit of a thread"} {
		out = append(out, fixtureBytes(b, name))
	}
	return out
}

// BenchmarkParse decodes datagrams as the reader does (netlink header,
// cn_msg, proc_event); it must not allocate.
func BenchmarkParse(b *testing.B) {
	dgs := benchDatagrams(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		for _, d := range dgs {
			_, p, _, err := nextMessage(d)
			if err != nil {
				b.Fatal(err)
			}
			m, err := parseMessage(p)
			if err != nil || m.Kind == 0 {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(testing.AllocsPerRun(100, func() {
		for _, d := range dgs {
			_, p, _, _ := nextMessage(d)
			parseMessage(p)
		}
	}))/float64(len(dgs)), "allocs/event")
}

// BenchmarkHandle runs the reader's per-datagram work after the receive:
// parsing, the sequence check, the thread filter and the hand-off to the
// batcher, which a goroutine drains.
func BenchmarkHandle(b *testing.B) {
	dgs := benchDatagrams(b)
	s := &Source{in: make(chan Event, 1024), stop: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		for range s.in {
		}
		close(done)
	}()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		for _, d := range dgs {
			if !s.handle(d) {
				b.Fatal("handle stopped")
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	close(s.in)
	<-done
}
