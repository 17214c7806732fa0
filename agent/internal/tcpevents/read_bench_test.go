//go:build linux && (amd64 || arm64)

package tcpevents

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// BenchmarkRead measures user space's side of the real ring buffer: ReadInto of events
// already waiting in it (the loopback connections that write them run with the timer
// stopped), until the ring is empty. Needs root. The untimed connections take about 100
// times the timed reads: run it with -benchtime 100x.
func BenchmarkRead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading BPF programs needs root")
	}
	tr, err := Open(Config{RingBufferBytes: 4 << 20})
	if err != nil {
		b.Skipf("the kernel refuses the BPF programs: %v", err)
	}
	defer tr.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// Each batch of connections writes four records per connection (connect, accept and
	// two closes), plus whatever else the host does; each iteration reads until the ring
	// is empty, so no read ever blocks.
	const conns = 256
	var e Event
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		for range conns {
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
		b.StartTimer()
		for tr.rd.AvailableBytes() > 0 {
			if err := tr.ReadInto(b.Context(), &e); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	if lost := tr.Lost(); lost > 0 {
		b.Logf("lost %d", lost)
	}
}

// BenchmarkSyscall measures a cheap system call (getppid) with the tracker's sys_exit
// program attached, for comparison with BenchmarkSyscallBaseline: the price
// every system call of the host pays.
func BenchmarkSyscall(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("loading BPF programs needs root")
	}
	tr, err := Open(Config{})
	if err != nil {
		b.Skipf("the kernel refuses the BPF programs: %v", err)
	}
	defer tr.Close()
	for b.Loop() {
		syscall.Getppid()
	}
}

// BenchmarkSyscallBaseline is BenchmarkSyscall without the tracker.
func BenchmarkSyscallBaseline(b *testing.B) {
	for b.Loop() {
		syscall.Getppid()
	}
}
