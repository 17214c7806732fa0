package sockets

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/childtest"
	"github.com/proctag/proctag/agent/internal/procid"
)

// helperEnv switches the test binary into the child helper: it dials the TCP
// address in the variable, prints "LOCALPORT INODE", and holds the
// connection until its stdin closes.
const helperEnv = "PROCTAG_SOCKETS_TEST_DIAL"

func TestMain(m *testing.M) {
	if addr := os.Getenv(helperEnv); addr != "" {
		os.Exit(dialHelper(addr))
	}
	if os.Getenv(nobodyEnv) != "" {
		os.Exit(nobodyHelper())
	}
	if os.Getenv(netnsEnv) != "" {
		os.Exit(netnsHelper())
	}
	os.Exit(m.Run())
}

func dialHelper(addr string) int {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.TCPAddr)
	fmt.Printf("%d %d\n", local.Port, inodeOf(conn.(*net.TCPConn)))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// inodeOf returns the socket inode of a net.Conn or listener.
func inodeOf(c syscall.Conn) uint64 {
	raw, err := c.SyscallConn()
	if err != nil {
		panic(err)
	}
	var st unix.Stat_t
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		panic(err)
	}
	if serr != nil {
		panic(serr)
	}
	return st.Ino
}

// realOwner describes a live process the way the scan would.
func realOwner(t *testing.T, pid int) Owner {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	ticks, err := strconv.ParseUint(fields[19], 10, 64) // field 22 of stat(5)
	if err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "net:["), "]"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		t.Fatal(err)
	}
	uid := int(fi.Sys().(*syscall.Stat_t).Uid)
	return Owner{Key: procid.Key{PID: pid, StartTicks: ticks}, StartTime: time.Now().Add(-time.Hour), NetNS: ns, UID: uid}
}

// startDialer runs the helper against addr, holding lnFile too (as a child
// that inherited its parent's listener). It returns the child's pid and the
// local port and inode of its connection.
func startDialer(t *testing.T, addr string, lnFile *os.File) (pid, port int, inode uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$") // t.Context is done before Cleanup runs
	cmd.Env = append(os.Environ(), helperEnv+"="+addr)
	cmd.ExtraFiles = []*os.File{lnFile}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("dial helper: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read dial helper: %v", err)
	}
	if _, err := fmt.Sscanf(line, "%d %d", &port, &inode); err != nil {
		t.Fatalf("dial helper said %q: %v", line, err)
	}
	return cmd.Process.Pid, port, inode
}

func TestCollectRealSockets(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnAddr := ln.Addr().(*net.TCPAddr).AddrPort()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()

	out, err := net.Dial("tcp4", lnAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	in, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()

	childPID, childPort, childInode := startDialer(t, lnAddr.String(), lnFile)
	fromChild, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer fromChild.Close()

	udp, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	udpOut, err := net.DialUDP("udp4", nil, udp.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer udpOut.Close()

	self := os.Getpid()
	pids := []int{self, childPID}
	slices.Sort(pids)
	loopback := netip.MustParseAddr("127.0.0.1")
	type want struct {
		name          string
		inode         uint64
		proto         string
		local, remote netip.AddrPort
		state, role   string
		pids          []int
	}
	wants := []want{
		{"listener held by parent and child", inodeOf(ln.(*net.TCPListener)), "tcp", lnAddr, netip.MustParseAddrPort("0.0.0.0:0"), "LISTEN", RoleServer, pids},
		{"outgoing connection", inodeOf(out.(*net.TCPConn)), "tcp", out.LocalAddr().(*net.TCPAddr).AddrPort(), lnAddr, "ESTABLISHED", RoleClient, []int{self}},
		{"accepted connection", inodeOf(in.(*net.TCPConn)), "tcp", lnAddr, out.LocalAddr().(*net.TCPAddr).AddrPort(), "ESTABLISHED", RoleServer, []int{self}},
		{"child's outgoing connection", childInode, "tcp", netip.AddrPortFrom(loopback, uint16(childPort)), lnAddr, "ESTABLISHED", RoleClient, []int{childPID}},
		{"connection accepted from the child", inodeOf(fromChild.(*net.TCPConn)), "tcp", lnAddr, netip.AddrPortFrom(loopback, uint16(childPort)), "ESTABLISHED", RoleServer, []int{self}},
		{"bound udp", inodeOf(udp), "udp", udp.LocalAddr().(*net.UDPAddr).AddrPort(), netip.MustParseAddrPort("0.0.0.0:0"), "CLOSE", RoleServer, []int{self}},
		{"connected udp", inodeOf(udpOut), "udp", udpOut.LocalAddr().(*net.UDPAddr).AddrPort(), udp.LocalAddr().(*net.UDPAddr).AddrPort(), "ESTABLISHED", RoleClient, []int{self}},
	}
	if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		defer ln6.Close()
		wants = append(wants, want{"ipv6 listener", inodeOf(ln6.(*net.TCPListener)), "tcp6", ln6.Addr().(*net.TCPAddr).AddrPort(), netip.MustParseAddrPort("[::]:0"), "LISTEN", RoleServer, []int{self}})
	} else {
		t.Logf("no IPv6 loopback here, skipping the tcp6 case: %v", err)
	}

	c := newCollector(t, "/proc", 0)
	got, err := c.Collect(t.Context(), time.Now(), []Owner{realOwner(t, self), realOwner(t, childPID)}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		t.Run(w.name, func(t *testing.T) {
			i := slices.IndexFunc(got, func(s Socket) bool { return s.Inode == w.inode })
			if i < 0 {
				t.Fatalf("inode %d not reported among %d sockets", w.inode, len(got))
			}
			s := got[i]
			if s.Proto != w.proto || s.Local != w.local || s.Remote != w.remote || s.State != w.state || s.Role != w.role || !slices.Equal(s.PIDs, w.pids) {
				t.Errorf("got %s %s %s %s %s %v, want %s %s %s %s %s %v",
					s.Proto, s.Local, s.Remote, s.State, s.Role, s.PIDs, w.proto, w.local, w.remote, w.state, w.role, w.pids)
			}
		})
	}
}

// TestCollectRealNewSocketsOfKnownOwner checks that a steady Collect sees
// the sockets a process walked before opens or accepts afterwards: this
// process listens and is collected, then accepts a connection from a new
// child and dials out; the next Collect, not a full one, reports both
// with this process as their holder.
func TestCollectRealNewSocketsOfKnownOwner(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self := os.Getpid()
	c := newCollector(t, "/proc", 0)
	if _, err := c.Collect(t.Context(), time.Now(), []Owner{realOwner(t, self)}, false); err != nil {
		t.Fatal(err)
	}

	childPID, _, _ := startDialer(t, ln.Addr().String(), nil)
	in, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	got, err := c.Collect(t.Context(), time.Now(), []Owner{realOwner(t, self), realOwner(t, childPID)}, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]net.Conn{"accepted": in, "dialled": out} {
		ino := inodeOf(conn.(*net.TCPConn))
		i := slices.IndexFunc(got, func(s Socket) bool { return s.Inode == ino })
		if i < 0 {
			t.Errorf("%s connection %d not reported by the steady Collect", name, ino)
			continue
		}
		if !slices.Equal(got[i].PIDs, []int{self}) {
			t.Errorf("%s connection held by %v, want [%d]", name, got[i].PIDs, self)
		}
	}
}

func TestCollectRealExitedOwner(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+ln.Addr().String())
	stdout, stdin, err := childtest.Start(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stdout.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	gone := realOwner(t, cmd.Process.Pid)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	// The exited child comes first, so its netns is read through it first.
	c := newCollector(t, "/proc", 0)
	got, err := c.Collect(t.Context(), time.Now(), []Owner{gone, realOwner(t, os.Getpid())}, false)
	if err != nil {
		t.Fatalf("Collect with an exited owner: %v", err)
	}
	lnInode := inodeOf(ln.(*net.TCPListener))
	if !slices.ContainsFunc(got, func(s Socket) bool { return s.Inode == lnInode }) {
		t.Errorf("the live owner's listener was not reported through the fallback owner")
	}
	for _, s := range got {
		if slices.Contains(s.PIDs, gone.PID) {
			t.Errorf("socket %d reported for the exited pid %d", s.Inode, gone.PID)
		}
	}
}

// TestWalkManyFDs walks this process's /proc/self/fd while it holds 1,500
// sockets more, with directory buffers from one entry to the default: on
// procfs a getdents64 that leaves room for another entry ends the walk, and
// no socket may be lost at any buffer boundary.
func TestWalkManyFDs(t *testing.T) {
	r := newReader("/proc")
	if !r.procfs {
		t.Fatal("/proc is not seen as procfs")
	}
	want := make([]uint64, 0, 1500)
	for range cap(want) {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		want = append(want, inodeOf(c))
	}
	slices.Sort(want)
	for _, size := range []int{maxFDDirent, 100, 1000, 16 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			r.dirs = make([]byte, size)
			got, err := r.walk(nil, os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			var missing []uint64
			for _, ino := range want {
				if _, found := slices.BinarySearch(got, ino); !found {
					missing = append(missing, ino)
				}
			}
			if len(missing) > 0 {
				t.Errorf("%d of %d sockets missing, first %d", len(missing), len(want), missing[0])
			}
		})
	}
}
