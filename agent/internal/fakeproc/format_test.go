package fakeproc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "capture testdata/real/* again from this machine's /proc")

// The files under testdata/real/ are lines captured from a live /proc by
// captureReal (go test -update). The tests parse each captured line into the
// package's types, write it back with the package's writers and require
// the very same bytes: the writer's formats are the kernel's.

func TestStatMatchesKernel(t *testing.T) {
	maybeCapture(t)
	for _, name := range []string{"stat-user", "stat-odd-comm", "stat-kthread"} {
		t.Run(name, func(t *testing.T) {
			want := readGolden(t, name)
			p := parseStatLine(t, want)
			if got := AppendStat(nil, &p); !bytes.Equal(got, want) {
				t.Errorf("AppendStat:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestStatusMatchesKernel(t *testing.T) {
	maybeCapture(t)
	modelled := []string{"Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid",
		"Uid", "Gid", "Groups", "NStgid", "NSpid", "NSpgid", "NSsid", "Kthread", "Threads"}
	for _, tc := range []struct{ status, stat string }{
		{"status-user", "stat-user"},
		{"status-odd-comm", "stat-odd-comm"},
		{"status-kthread", "stat-kthread"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			p := parseStatLine(t, readGolden(t, tc.stat))
			real := readGolden(t, tc.status)
			p.UID = statusInt(t, real, "Uid")
			p.GID = statusInt(t, real, "Gid")
			got := AppendStatus(nil, &p)
			if keys(got) != keys(real) {
				t.Errorf("status keys differ:\n got %s\nwant %s", keys(got), keys(real))
			}
			for _, k := range modelled {
				if g, w := statusLine(got, k), statusLine(real, k); g != w {
					t.Errorf("line %s: got %q, want %q", k, g, w)
				}
			}
		})
	}
}

func TestNetTablesMatchKernel(t *testing.T) {
	maybeCapture(t)
	for _, proto := range []Proto{TCP, TCP6, UDP, UDP6} {
		t.Run(proto.String(), func(t *testing.T) {
			want := readGolden(t, "net-"+proto.String())
			lines := bytes.SplitAfter(want, []byte("\n"))
			lines = lines[:len(lines)-1]
			if len(lines) < 2 {
				t.Fatalf("capture has %d lines, want a header and rows", len(lines))
			}
			if got := NetTable(proto, nil); !bytes.Equal(got, lines[0]) {
				t.Errorf("header:\n got %q\nwant %q", got, lines[0])
			}
			for _, line := range lines[1:] {
				sl, e := parseSockLine(t, proto, line)
				if got := AppendSockLine(nil, proto, sl, &e); !bytes.Equal(got, line) {
					t.Errorf("row:\n got %q\nwant %q", got, line)
				}
			}
		})
	}
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseStatLine reads a captured stat line back into a Proc.
func parseStatLine(t *testing.T, line []byte) Proc {
	t.Helper()
	open, closing := bytes.IndexByte(line, '('), bytes.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		t.Fatalf("no comm in %q", line)
	}
	f := strings.Fields(string(line[closing+2:]))
	if len(f) != 50 {
		t.Fatalf("stat has %d fields after comm, want 50", len(f))
	}
	n := func(i int) int64 { // i is the man 5 proc field number
		t.Helper()
		v, err := strconv.ParseInt(f[i-3], 10, 64)
		if err != nil {
			t.Fatalf("field %d: %v", i, err)
		}
		return v
	}
	u := func(i int) uint64 {
		t.Helper()
		v, err := strconv.ParseUint(f[i-3], 10, 64)
		if err != nil {
			t.Fatalf("field %d: %v", i, err)
		}
		return v
	}
	pid, _ := strconv.Atoi(string(line[:open-1]))
	sf := StatFields{
		PGRP: int(n(5)), Session: int(n(6)), TTYNr: int(n(7)), TPGID: int(n(8)), Flags: u(9),
		MinFlt: u(10), CMinFlt: u(11), MajFlt: u(12), CMajFlt: u(13), UTime: u(14), STime: u(15),
		CUTime: n(16), CSTime: n(17), Priority: n(18), Nice: n(19), ItRealValue: n(21),
		VSize: u(23), RSS: n(24), RSSLim: u(25),
	}
	for i := range sf.Tail {
		sf.Tail[i] = u(26 + i)
	}
	p := Proc{PID: pid, PPID: int(n(4)), Comm: string(line[open+1 : closing]), State: f[0][0],
		Threads: int(n(20)), StartTicks: u(22), Stat: &sf}
	if sf.Flags&0x00200000 == 0 { // PF_KTHREAD
		p.Argv = []string{p.Comm}
	}
	return p
}

func statusLine(b []byte, key string) string {
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && k == key {
			return line
		}
	}
	return ""
}

func statusInt(t *testing.T, b []byte, key string) int {
	t.Helper()
	f := strings.Fields(statusLine(b, key))
	if len(f) < 2 {
		t.Fatalf("no %s line", key)
	}
	v, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func keys(b []byte) string {
	var ks []string
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, _, _ := strings.Cut(line, ":")
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

// parseSockLine reads a captured table row back into a SockEntry.
func parseSockLine(t *testing.T, proto Proto, line []byte) (int, SockEntry) {
	t.Helper()
	f := strings.Fields(string(line))
	x := func(s string, bits int) uint64 {
		t.Helper()
		v, err := strconv.ParseUint(s, 16, bits)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	d := func(s string) int {
		t.Helper()
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return v
	}
	sl := d(strings.TrimSuffix(f[0], ":"))
	var e SockEntry
	e.Local, e.Remote = parseAddr(t, f[1]), parseAddr(t, f[2])
	e.State = uint8(x(f[3], 8))
	q := strings.Split(f[4], ":")
	e.TxQueue, e.RxQueue = uint32(x(q[0], 32)), uint32(x(q[1], 32))
	tm := strings.Split(f[5], ":")
	e.Timer, e.When = uint8(x(tm[0], 8)), x(tm[1], 64)
	e.Retransmits = uint32(x(f[6], 32))
	e.UID, e.Timeout = d(f[7]), d(f[8])
	e.Inode = uint64(d(f[9]))
	e.Ref, e.Pointer = d(f[10]), x(f[11], 64)
	switch proto {
	case TCP, TCP6:
		if e.State == TCPTimeWait {
			break
		}
		e.RTO, e.ATO = uint64(d(f[12])), uint64(d(f[13]))
		e.QuickPingpong, e.Cwnd, e.Ssthresh = uint32(d(f[14])), uint32(d(f[15])), d(f[16])
	default:
		e.Bucket, e.Drops = sl, uint32(d(f[12]))
	}
	return sl, e
}

func parseAddr(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	h, p, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	for w := 0; w < len(raw); w += 4 {
		slices.Reverse(raw[w : w+4])
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a, uint16(port))
}

var captured bool

// maybeCapture, with -update, captures testdata/real/* from this machine:
// a sleeping child, a child whose comm has spaces and parentheses, pid 2
// (kthreadd), and the rows of the test's own TCP and UDP sockets (IPv4,
// IPv6, IPv4-mapped, listening and connected).
func maybeCapture(t *testing.T) {
	t.Helper()
	if !*update || captured {
		return
	}
	captured = true
	dir := filepath.Join("testdata", "real")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sleepPath, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), "a) (b c")
	if err := os.Symlink(sleepPath, odd); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{{"user", sleepPath}, {"odd-comm", odd}} {
		cmd := exec.Command(c.path, "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		waitExec(t, cmd.Process.Pid, filepath.Base(c.path))
		save("stat-"+c.name, readProc(t, cmd.Process.Pid, "stat"))
		save("status-"+c.name, readProc(t, cmd.Process.Pid, "status"))
	}
	save("stat-kthread", readProc(t, 2, "stat"))
	save("status-kthread", readProc(t, 2, "status"))

	inodes := openSockets(t)
	for _, proto := range []Proto{TCP, TCP6, UDP, UDP6} {
		b, err := os.ReadFile("/proc/self/net/" + proto.String())
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		sc := bufio.NewScanner(bytes.NewReader(b))
		for i := 0; sc.Scan(); i++ {
			f := strings.Fields(sc.Text())
			if i == 0 || (len(f) > 9 && inodes[f[9]]) {
				out = append(out, sc.Text()...)
				out = append(out, '\n')
			}
		}
		save("net-"+proto.String(), out)
	}
}

func readProc(t *testing.T, pid int, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitExec waits until the child has exec'd (its comm is the program's).
func waitExec(t *testing.T, pid int, base string) {
	t.Helper()
	comm := base
	if len(comm) > 15 {
		comm = comm[:15]
	}
	for range 10000 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == comm {
			return
		}
		_, _ = os.ReadFile("/proc/self/stat") // yield without sleeping
	}
	t.Fatalf("pid %d never exec'd %s", pid, base)
}

// openSockets opens listening and connected TCP and bound and connected
// UDP sockets over IPv4, IPv6 and IPv4-mapped IPv6, and returns their
// inodes.
func openSockets(t *testing.T) map[string]bool {
	t.Helper()
	listen := func(network, addr string) net.Listener {
		l, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	dial := func(network, addr string) {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	accept := func(l net.Listener) {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	l4 := listen("tcp4", "127.0.0.1:0")
	dial("tcp4", l4.Addr().String())
	accept(l4)
	l6 := listen("tcp6", "[::1]:0")
	dial("tcp6", l6.Addr().String())
	accept(l6)
	ld := listen("tcp", "[::]:0") // dual stack: a connection from 127.0.0.1 is v4-mapped
	dial("tcp4", fmt.Sprintf("127.0.0.1:%d", ld.Addr().(*net.TCPAddr).Port))
	accept(ld)
	for _, a := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		u, err := net.ListenPacket(a.network, a.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = u.Close() })
		dial(a.network, u.LocalAddr().String())
	}
	inodes := make(map[string]bool)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	return inodes
}
