package sockdiagvn

import (
	"strconv"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// realNetNS creates a namespace with one listener and n connections.
func realNetNS(b *testing.B, n int) *loopconn.NetNS {
	b.Helper()
	if unix.Getuid() != 0 {
		b.Skip("needs root to create a network namespace and park descriptors")
	}
	ns, err := loopconn.NewNetNS()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ns.Close() })
	var p *loopconn.Pairs
	if err := ns.Do(func() (err error) { p, err = loopconn.OpenParked(n, 4096); return err }); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return ns
}

// BenchmarkDumpTCP4 reads the IPv4 TCP sockets in LISTEN or ESTABLISHED
// with sockdiag (the kernel filters the states) and with
// vishvananda/netlink SocketDiagTCP (all states, tcp_info, filtered
// here), reporting rows and user+system CPU per read.
func BenchmarkDumpTCP4(b *testing.B) {
	reported := sockdiag.States(sockdiag.StateListen, sockdiag.StateEstablished)
	for _, pairs := range []int{20000, 50000} {
		b.Run("sockets="+strconv.Itoa(2*pairs+1), func(b *testing.B) {
			ns := realNetNS(b, pairs)
			want := 2*pairs + 1
			b.Run("sockdiag", func(b *testing.B) {
				c, err := sockdiag.OpenNetNS(ns.NS)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				q := sockdiag.Query{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: reported}
				measure(b, want, func() (rows int, err error) {
					err = c.Dump(q, func(sockdiag.Socket) { rows++ })
					return rows, err
				})
			})
			b.Run("vishvananda", func(b *testing.B) {
				h, err := netlink.NewHandleAt(netns.NsHandle(ns.NS), unix.NETLINK_SOCK_DIAG)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				measure(b, want, func() (rows int, err error) {
					socks, err := h.SocketDiagTCP(unix.AF_INET)
					for _, s := range socks {
						if reported&(1<<s.State) != 0 {
							rows++
						}
					}
					return rows, err
				})
			})
		})
	}
}

// measure runs read in the benchmark loop, fails when it does not give
// want rows, and reports rows and CPU time per read.
func measure(b *testing.B, want int, read func() (int, error)) {
	b.Helper()
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		if n, err := read(); err != nil || n != want {
			b.Fatalf("%d rows, want %d: %v", n, want, err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(want), "rows")
}

// cpuTime returns the user and system CPU time of this process so far, in
// nanoseconds.
func cpuTime(b *testing.B) int64 {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
