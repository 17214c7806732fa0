package sockets

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/procid"
	"github.com/proctag/proctag/agent/internal/sockdiag"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// realTCPNetNS creates a network namespace holding one listener and n
// real loopback connections of this process (2n+1 sockets in
// /proc/net/tcp, all reported). The connections are parked in flight
// (loopconn.OpenParked), so their number is not bounded by
// RLIMIT_NOFILE. The namespace keeps other processes' sockets out of the
// measurement.
func realTCPNetNS(b *testing.B, n int) *loopconn.NetNS {
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

// BenchmarkRealTCPTable reads the IPv4 TCP table of a namespace of 40,001
// and 100,001 real sockets (one listener, the rest ESTABLISHED) in three
// ways: a sock_diag dump of LISTEN and ESTABLISHED (sockdiag), the
// sockets package's /proc/PID/net/tcp read and parse (procnet), and
// prometheus/procfs NetTCP (procfs, the baseline). Each reports the rows
// and the process's user+system CPU time per read (cpu-ns/op): the
// kernel's share, formatting text or netlink messages, is most of it.
func BenchmarkRealTCPTable(b *testing.B) {
	for _, pairs := range []int{20000, 50000} {
		b.Run("sockets="+strconv.Itoa(2*pairs+1), func(b *testing.B) {
			ns := realTCPNetNS(b, pairs)
			want := 2*pairs + 1
			b.Run("sockdiag", func(b *testing.B) {
				c, err := sockdiag.OpenNetNS(ns.NS)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				measure(b, want, func() (rows int, err error) {
					err = diagTable(c, 0, func(*parsedRow) { rows++ })
					return rows, err
				})
			})
			b.Run("procnet", func(b *testing.B) {
				r := newReader("/proc/self/task")
				measure(b, want, func() (rows int, err error) {
					err = r.readTable(ns.TID, &tables[0], func(r *parsedRow) {
						if keep(&tables[0], &r.e) {
							rows++
						}
					})
					return rows, err
				})
			})
			b.Run("procfs", func(b *testing.B) {
				fs, err := procfs.NewFS(fmt.Sprintf("/proc/self/task/%d", ns.TID))
				if err != nil {
					b.Fatal(err)
				}
				measure(b, want, func() (int, error) {
					rows, err := fs.NetTCP()
					return len(rows), err
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

// BenchmarkRealTCPTableTimeWait is BenchmarkRealTCPTable on a namespace
// where most rows are not reported: one listener and 5,000 live
// connections (10,001 rows kept) beside 30,000 connections just closed,
// one end of each in TIME_WAIT for the next 60 seconds. The sock_diag dump
// leaves the TIME_WAIT sockets in the kernel; the text readers get them
// formatted and skip them. It reports the TIME_WAIT rows at the start.
func BenchmarkRealTCPTableTimeWait(b *testing.B) {
	ns := realTCPNetNS(b, 5000)
	var closed *loopconn.Pairs
	if err := ns.Do(func() (err error) { closed, err = loopconn.OpenParked(30000, 4096); return err }); err != nil {
		b.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		b.Fatal(err)
	}
	c, err := sockdiag.OpenNetNS(ns.NS)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tw := 0
	if err := c.Dump(sockdiag.Query{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: sockdiag.States(sockdiag.StateTimeWait)}, func(sockdiag.Socket) { tw++ }); err != nil {
		b.Fatal(err)
	}
	want := 10001
	b.Run("sockdiag", func(b *testing.B) {
		measure(b, want, func() (rows int, err error) {
			err = diagTable(c, 0, func(*parsedRow) { rows++ })
			return rows, err
		})
		b.ReportMetric(float64(tw), "timewait")
	})
	b.Run("procnet", func(b *testing.B) {
		r := newReader("/proc/self/task")
		measure(b, want, func() (rows int, err error) {
			err = r.readTable(ns.TID, &tables[0], func(r *parsedRow) {
				if keep(&tables[0], &r.e) {
					rows++
				}
			})
			return rows, err
		})
		b.ReportMetric(float64(tw), "timewait")
	})
	b.Run("procfs", func(b *testing.B) {
		fs, err := procfs.NewFS(fmt.Sprintf("/proc/self/task/%d", ns.TID))
		if err != nil {
			b.Fatal(err)
		}
		measure(b, want, func() (int, error) {
			rows, err := fs.NetTCP()
			n := 0
			for _, r := range rows {
				if r.St == stateListen || r.St == stateEstablished {
					n++
				}
			}
			return n, err
		})
		b.ReportMetric(float64(tw), "timewait")
	})
}

// BenchmarkRealCollect is a steady Collect (no new owners) of one owner, a
// thread in a namespace of 40,001 and 100,001 real TCP sockets, with the
// tables read over sock_diag (Config.SockDiag) and from /proc/PID/net
// text: the per-tick cost of the socket step on a busy host. It reports
// the process's CPU time per Collect (cpu-ns/op). The sockets are parked
// in flight, so no owner holds them: the join looks every row up and
// reports none, as for the sockets of unreported processes.
func BenchmarkRealCollect(b *testing.B) {
	for _, pairs := range []int{20000, 50000} {
		b.Run("sockets="+strconv.Itoa(2*pairs+1), func(b *testing.B) {
			ns := realTCPNetNS(b, pairs)
			var st unix.Stat_t
			if err := unix.Fstat(ns.NS, &st); err != nil {
				b.Fatal(err)
			}
			owners := []Owner{{Key: procid.Key{PID: ns.TID, StartTicks: 1}, NetNS: st.Ino, UID: 0}}
			for _, src := range []struct {
				name string
				diag bool
			}{{"sockdiag", true}, {"procnet", false}} {
				b.Run(src.name, func(b *testing.B) {
					c, err := New(Config{Root: "/proc/self/task", SockDiag: src.diag}, hclog.NewNullLogger())
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
						b.Fatal(err)
					}
					diag, text := c.diagReads.Load(), c.tableReads.Load()
					b.ReportAllocs()
					cpu := cpuTime(b)
					for b.Loop() {
						if _, err := c.Collect(b.Context(), time.Now(), owners, false); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
					if d, x := c.diagReads.Load()-diag, c.tableReads.Load()-text; (d > 0) != src.diag || (x > 0) == src.diag {
						b.Fatalf("%d tables over sock_diag, %d from /proc", d, x)
					}
				})
			}
		})
	}
}
