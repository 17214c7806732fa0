package sockets

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/childtest"
	"github.com/proctag/proctag/agent/internal/procid"
)

// netnsEnv switches the test binary into the helper that listens on TCP in
// whatever network namespace it was started in, prints "PORT INODE" and
// holds the listener until its stdin closes.
const netnsEnv = "PROCTAG_SOCKETS_TEST_NETNS"

func netnsHelper() int {
	// 0.0.0.0: the loopback of a new namespace is down.
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ln.Close()
	fmt.Printf("%d %d\n", ln.Addr().(*net.TCPAddr).Port, inodeOf(ln.(*net.TCPListener)))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// netNSOf returns the inode of /proc/PID/ns/net, 0 when unreadable.
func netNSOf(pid int) uint64 {
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return 0
	}
	var ns uint64
	if _, err := fmt.Sscanf(l, "net:[%d]", &ns); err != nil {
		return 0
	}
	return ns
}

// hiddenRealOwner describes a live process as the scan does when its ns/net
// cannot be read: NetNS 0.
func hiddenRealOwner(t *testing.T, pid int) Owner {
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
	return Owner{Key: procid.Key{PID: pid, StartTicks: ticks}, StartTime: time.Now().Add(-time.Hour), UID: -1}
}

// startInNewNetNS starts netnsHelper in a new network namespace and a
// sleep that joins it with nsenter. It returns the helper's pid and its
// listener's port and inode, the sleeper's pid and the namespace.
func startInNewNetNS(t *testing.T) (pid, port int, inode uint64, sleeper int, ns uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	cmd.Stderr = os.Stderr
	stdout, stdin, err := childtest.Start(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("netns helper: %v", err)
		}
	})
	line, err := stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("read netns helper: %v", err)
	}
	if _, err := fmt.Sscanf(line, "%d %d", &port, &inode); err != nil {
		t.Fatalf("netns helper said %q: %v", line, err)
	}
	pid, ns = cmd.Process.Pid, netNSOf(cmd.Process.Pid)
	if ns == 0 || ns == netNSOf(os.Getpid()) {
		t.Fatalf("helper's namespace %d is not a new one", ns)
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("no nsenter to put a second process in the namespace")
	}
	sl := exec.Command(nsenter, fmt.Sprintf("--net=/proc/%d/ns/net", pid), "sleep", "1000")
	if err := sl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sl.Process.Kill(); _ = sl.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for netNSOf(sl.Process.Pid) != ns || !isSleep(sl.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("nsenter did not run sleep in the helper's namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return pid, port, inode, sl.Process.Pid, ns
}

// isSleep reports whether pid runs sleep (nsenter has exec'ed it).
func isSleep(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && string(b) == "sleep\n"
}

// TestCollectRealHiddenNamespace runs a listener in a new network
// namespace (CLONE_NEWNET) with a second process in it, and this process
// listens in the host's. Owners are passed with their ns/net readable or
// not (NetNS 0, as the scan reports pid 1 of a sandbox or a process of
// another user namespace; this machine's own pid 1 is one): each owner
// must land in its real namespace, and each namespace's tables must be
// read once per Collect.
func TestCollectRealHiddenNamespace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a network namespace (CLONE_NEWNET)")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hostLn := inodeOf(ln.(*net.TCPListener))
	hostNS := netNSOf(os.Getpid())
	child, _, childLn, sleeper, childNS := startInNewNetNS(t)
	self := os.Getpid()

	visible := func(pid int) Owner { return realOwner(t, pid) }
	hidden := func(pid int) Owner { return hiddenRealOwner(t, pid) }
	tests := []struct {
		name   string
		owners func() []Owner
		// hostAs and childAs are the NetNS the listeners are reported in.
		hostAs, childAs uint64
	}{
		{"all readable", func() []Owner { return []Owner{visible(self), visible(child), visible(sleeper)} }, hostNS, childNS},
		{"pid 1 and the listener hidden", func() []Owner {
			return []Owner{hidden(1), visible(self), hidden(child), visible(sleeper)}
		}, hostNS, childNS},
		{"the host listener and pid 1 hidden", func() []Owner {
			return []Owner{hidden(self), hidden(1), visible(child)}
		}, 0, childNS},
		{"a namespace of hidden owners only", func() []Owner {
			return []Owner{visible(self), hidden(1), hidden(child)}
		}, hostNS, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owners := tt.owners()
			c := newCollector(t, "/proc", 0)
			for _, full := range []bool{false, false, true} {
				reads := c.tableReads.Load()
				got, err := c.Collect(t.Context(), time.Now(), owners, full)
				if err != nil {
					t.Fatal(err)
				}
				if n := c.tableReads.Load() - reads; n != 8 {
					t.Errorf("%d socket tables read, want 8: 4 per namespace", n)
				}
				for _, w := range []struct {
					what  string
					inode uint64
					ns    uint64
					pid   int
				}{{"host listener", hostLn, tt.hostAs, self}, {"listener in the new namespace", childLn, tt.childAs, child}} {
					i := slices.IndexFunc(got, func(s Socket) bool { return s.Inode == w.inode })
					switch {
					case i < 0:
						t.Errorf("%s (inode %d) not reported", w.what, w.inode)
					case got[i].NetNS != w.ns || !slices.Equal(got[i].PIDs, []int{w.pid}):
						t.Errorf("%s reported in netns %d held by %v, want %d and [%d]", w.what, got[i].NetNS, got[i].PIDs, w.ns, w.pid)
					}
				}
			}
		})
	}
}
