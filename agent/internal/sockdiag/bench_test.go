package sockdiag

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// BenchmarkParseDump parses one full recv of a dump: the IPv4 fixture
// message repeated to 32 KiB (264 sockets), as the kernel sends them.
func BenchmarkParseDump(b *testing.B) {
	msg := readFixture(b, "tcp4_established")
	data := bytes.Repeat(msg, recvBufLen/len(msg))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		if _, err := parseDump(data, 77, unix.IPPROTO_TCP, func(Socket) { n++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "sockets/op")
}

// BenchmarkDump dumps the IPv4 TCP sockets in LISTEN or ESTABLISHED of a
// namespace holding one listener and 5,000 real loopback connections;
// the sockets package's BenchmarkRealTCPTable compares the readers at
// 40,001 and 100,001 sockets.
func BenchmarkDump(b *testing.B) {
	if unix.Getuid() != 0 {
		b.Skip("needs root to create a network namespace")
	}
	ns, err := loopconn.NewNetNS()
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	var p *loopconn.Pairs
	if err := ns.Do(func() (err error) { p, err = loopconn.Open(5000); return err }); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, err := OpenNetNS(ns.NS)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	q := Query{Family: unix.AF_INET, Proto: unix.IPPROTO_TCP, States: States(StateListen, StateEstablished)}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = 0
		if err := c.Dump(q, func(Socket) { n++ }); err != nil || n != 10001 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(n), "sockets/op")
}
