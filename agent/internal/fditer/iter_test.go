//go:build linux

package fditer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/proctag/proctag/agent/internal/childtest"
)

// envHolder makes the test binary a process that holds sockets: it opens
// a TCP listener, a connected pair and a UDP socket, prints its pid, and
// exits when its stdin closes.
const envHolder = "FDITER_HOLDER"

func TestMain(m *testing.M) {
	if os.Getenv(envHolder) != "" {
		os.Exit(hold())
	}
	if v := os.Getenv(envNSProbe); v != "" {
		os.Exit(nsProbe(v))
	}
	os.Exit(m.Run())
}

func hold() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	for _, x := range []io.Closer{ln, c, s, u} {
		x.Close()
	}
	return 0
}

// open opens the iterator on /proc, skipping where the kernel does not let
// this process load BPF programs.
func open(t *testing.T) *Iter {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root")
	}
	it, err := Open("/proc")
	if errors.Is(err, ErrNotPermitted) || errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("the kernel refuses the BPF program: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { it.Close() })
	return it
}

// procFD returns the socket inodes in /proc/PID/fd, one per descriptor,
// sorted: what a reader of procfs finds.
func procFD(t *testing.T, pid int) []uint64 {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var inodes []uint64
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile: the Go runtime's own
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", link, err)
			}
			inodes = append(inodes, n)
		}
	}
	slices.Sort(inodes)
	return inodes
}

// dumpOf returns the inodes the iterator gives pid, sorted, and the start
// times it gives pid's records.
func dumpOf(t *testing.T, it *Iter, pid int) (inodes []uint64, starts []uint64) {
	t.Helper()
	err := it.Dump(func(p int, start, inode uint64) {
		if p == pid {
			inodes = append(inodes, inode)
			if !slices.Contains(starts, start) {
				starts = append(starts, start)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(inodes)
	return inodes, starts
}

// TestDumpIsProcFD checks the iterator against /proc/PID/fd, for this
// process (many threads, a descriptor dup'ed, a Unix socket pair) and for a
// child holding TCP and UDP sockets, and their start times against
// /proc/PID/stat; a child that exited is gone from the next dump.
func TestDumpIsProcFD(t *testing.T) {
	it := open(t)
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := syscall.Dup(pair[0])
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(pair[0])
	defer syscall.Close(pair[1])
	defer syscall.Close(dup)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHolder+"=1")
	out, in, err := childtest.Start(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("holder: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("holder printed %q", line)
	}
	for _, pid := range []int{os.Getpid(), child} {
		got, starts := dumpOf(t, it, pid)
		if want := procFD(t, pid); !slices.Equal(got, want) {
			t.Errorf("pid %d: the iterator gives sockets %v, /proc/%d/fd %v", pid, got, pid, want)
		}
		start, err := startTicks("/proc", pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(starts) != 1 || starts[0] != start {
			t.Errorf("pid %d: start times %v, /proc/%d/stat %d", pid, starts, pid, start)
		}
		if pid == child && len(got) < 4 {
			t.Errorf("the holder's %d sockets, want at least its 4", len(got))
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	if got, _ := dumpOf(t, it, child); len(got) != 0 {
		t.Errorf("the exited holder still has sockets %v", got)
	}
}

// TestOpenRefusesOtherPIDs gives Open a proc root that does not name this
// process by its kernel pid: a directory that is no procfs.
func TestOpenRefusesOtherPIDs(t *testing.T) {
	open(t) // skips without the privilege
	root := t.TempDir()
	if err := os.Symlink("4242", filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "4242"), 0o755); err != nil {
		t.Fatal(err)
	}
	stat := "4242 (x) S 1 4242 4242 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	if err := os.WriteFile(filepath.Join(root, "4242", "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{root, t.TempDir()} {
		it, err := Open(r)
		if !errors.Is(err, ErrOtherPIDs) {
			if it != nil {
				it.Close()
			}
			t.Errorf("Open(%s) = %v, want ErrOtherPIDs", r, err)
		}
	}
}

// TestDumpAfterClose checks that a closed iterator refuses to dump.
func TestDumpAfterClose(t *testing.T) {
	it := open(t)
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := it.Dump(func(int, uint64, uint64) {}); err == nil {
		t.Error("a closed iterator dumped")
	}
}
