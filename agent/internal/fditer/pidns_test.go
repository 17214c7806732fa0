//go:build linux

package fditer

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// envNSProbe makes the test binary open the iterator on /proc and report
// whether the dump lists the socket PID:INODE of the environment value.
const envNSProbe = "FDITER_NSPROBE"

func nsProbe(v string) int {
	ps, is, _ := strings.Cut(v, ":")
	pid, _ := strconv.Atoi(ps)
	ino, _ := strconv.ParseUint(is, 10, 64)
	it, err := Open("/proc")
	if err != nil {
		fmt.Printf("open-refused other=%v: %v\n", errors.Is(err, ErrOtherPIDs), err)
		return 0
	}
	defer it.Close()
	found, records := false, 0
	pids := map[int]bool{}
	if err := it.Dump(func(p int, _, inode uint64) {
		records++
		pids[p] = true
		if p == pid && inode == ino {
			found = true
		}
	}); err != nil {
		fmt.Printf("dump-failed: %v\n", err)
		return 0
	}
	fmt.Printf("opened found=%v records=%d pids=%d\n", found, records, len(pids))
	return 0
}

// TestOpenInChildPIDNamespaceWithHostProc runs the iterator in a process
// of a new pid namespace that reads the host's /proc (unshare --pid
// --fork, no --mount-proc: a container that is given the host's procfs as
// os-proc-root). /proc/self there is the process's global pid, so the
// probe socket alone would pass; the kernel walks only the tasks of the
// child namespace, so Open must refuse, or the dump list the sockets of
// a host process (this one) as its /proc/PID/fd does.
func TestOpenInChildPIDNamespaceWithHostProc(t *testing.T) {
	open(t) // skips without the privilege
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if want := procFD(t, os.Getpid()); !slices.Contains(want, st.Ino) {
		t.Fatalf("/proc/self/fd does not show the listener %d: %v", st.Ino, want)
	}
	cmd := exec.Command("unshare", "--pid", "--fork", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d", envNSProbe, os.Getpid(), st.Ino))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("probe in a new pid namespace: %v\n%s", err, errb.String())
	}
	res := strings.TrimSpace(out.String())
	t.Logf("probe: %s", res)
	switch {
	case strings.HasPrefix(res, "open-refused other=true"):
		// a clean refusal: the walks stay
	case strings.HasPrefix(res, "opened found=true"):
	default:
		t.Errorf("in a child pid namespace with the host's /proc as root: %s; /proc/%d/fd holds socket %d, which the dump does not list",
			res, os.Getpid(), st.Ino)
	}
}
