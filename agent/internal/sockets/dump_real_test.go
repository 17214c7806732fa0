package sockets

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/proctag/proctag/agent/internal/fditer"
	"github.com/proctag/proctag/agent/internal/procid"
)

// openFDIter opens the BPF descriptor iterator on /proc, closed when the
// test ends, skipping where this process may not load BPF programs.
func openFDIter(t *testing.T) *fditer.Iter {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading BPF programs needs root")
	}
	it, err := fditer.Open("/proc")
	if errors.Is(err, fditer.ErrNotPermitted) || errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("the kernel refuses the BPF program: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { it.Close() })
	return it
}

// TestCollectFromFDDump collects the sockets of real processes (this one
// and two children that dial its listener) through the BPF descriptor
// dump and through fd/ walks, and checks that both give the same sockets;
// the dump serves every walk of a full Collect, an owner that exited,
// which the dump does not list, is dropped as a walk drops it, and a
// steady Collect with one new owner walks its fd/.
func TestCollectFromFDDump(t *testing.T) {
	it := openFDIter(t)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lnFile.Close()
	owners := []Owner{realOwner(t, os.Getpid())}
	addDialer := func() {
		pid, _, _ := startDialer(t, ln.Addr().String(), lnFile)
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		owners = append(owners, realOwner(t, pid))
	}
	addDialer()
	addDialer()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	exited := Owner{Key: procid.Key{PID: gone.Process.Pid, StartTicks: 1}, StartTime: time.Now(), NetNS: owners[0].NetNS, UID: 0}

	walked := newCollector(t, "/proc", 0)
	dumped := newCollector(t, "/proc", 0)
	dumped.UseFDs(it)
	now := time.Now()
	want, err := walked.Collect(t.Context(), now, append(owners, exited), true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dumped.Collect(t.Context(), now, append(owners, exited), true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the dump:\n%+v\nfrom the walks:\n%+v", got, want)
	}
	if len(got) < 5 {
		t.Errorf("%d sockets, want at least the listener, two connections and their accepted ends", len(got))
	}
	if d, w := dumped.dumps.Load(), dumped.walks.Load(); d != 1 || w != 0 {
		t.Errorf("the dump's collector dumped %d times and walked %d fd/, want 1 and 0", d, w)
	}
	for _, c := range []*Collector{walked, dumped} {
		if _, ok := c.owners[exited.Key]; ok {
			t.Error("the exited owner is still cached")
		}
	}

	walkedFirst := walked.walks.Load()
	addDialer()
	now = time.Now()
	if want, err = walked.Collect(t.Context(), now, owners, false); err != nil {
		t.Fatal(err)
	}
	if got, err = dumped.Collect(t.Context(), now, owners, false); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steady Collect, with the dump on:\n%+v\nwith the walks:\n%+v", got, want)
	}
	// The steady Collect walks the new owner, and those the rewalk of
	// its sockets' candidate holders picks, as the walks' collector does.
	if d, w, want := dumped.dumps.Load(), dumped.walks.Load(), walked.walks.Load()-walkedFirst; d != 1 || w != want || w == 0 {
		t.Errorf("after a steady Collect with one new owner: %d dumps and %d walks, want 1 and the walks' collector's %d", d, w, want)
	}
}
