//go:build linux

package fditer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/scan"
)

// recordSize is the size of bpf/fditer.c's struct record.
const recordSize = 24

// nsPerTick is what one clock tick of /proc/PID/stat's start time is in
// task_struct's start_boottime: the kernel divides by NSEC_PER_SEC/USER_HZ,
// and USER_HZ is 100 on Linux.
const nsPerTick = 1e9 / 100

// ErrNotPermitted is returned (wrapped) by Open when the kernel refuses
// the BPF program for lack of privilege: it needs root, or CAP_BPF with
// CAP_PERFMON.
var ErrNotPermitted = errors.New("not permitted to load BPF programs (needs root, or CAP_BPF and CAP_PERFMON)")

// ErrOtherPIDs is returned (wrapped) by Open when the processes of the
// proc root are not the ones the kernel's global pids name (the root is a
// procfs of another pid namespace, or no procfs): the iterator would give
// other processes' sockets.
var ErrOtherPIDs = errors.New("the proc root's pids are not the kernel's global pids")

// Iter lists the socket descriptors of every process of the host in one
// pass over the kernel's tasks. It is safe for concurrent use; dumps run
// one at a time.
type Iter struct {
	mu   sync.Mutex
	objs fditerObjects
	link *link.Iter
	buf  []byte
}

// Open loads the iterator program and checks, with a socket of its own,
// that the pids it reports are those of the procfs mounted at root (the
// agent's os-proc-root). The caller must Close the Iter.
func Open(root string) (*Iter, error) {
	if err := samePIDNamespace(root); err != nil {
		return nil, fmt.Errorf("fd iterator: %w: %w", ErrOtherPIDs, err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("fd iterator: %w", permission(err))
	}
	it := &Iter{buf: make([]byte, 64<<10)}
	if err := loadFditerObjects(&it.objs, nil); err != nil {
		return nil, fmt.Errorf("load fd iterator: %w", permission(err))
	}
	l, err := link.AttachIter(link.IterOptions{Program: it.objs.SocketFds})
	if err != nil {
		it.objs.Close()
		return nil, fmt.Errorf("attach fd iterator: %w", permission(err))
	}
	it.link = l
	if err := it.check(root); err != nil {
		it.Close()
		return nil, err
	}
	return it, nil
}

// samePIDNamespace checks that this process is in the pid namespace of
// the procfs at root: the kernel walks a task_file iterator over the pid
// namespace of the process that reads it, so from a child namespace it
// would miss every process of root's but this namespace's. The NSpid line
// of root/self/status lists this process's pid in root's namespace and in
// each one below it down to its own (proc(5)): one pid, one namespace.
func samePIDNamespace(root string) error {
	b, err := os.ReadFile(root + "/self/status")
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			if n := len(strings.Fields(rest)); n != 1 {
				return fmt.Errorf("this process is %d pid namespaces below %s's", n-1, root)
			}
			return nil
		}
	}
	return fmt.Errorf("%s/self/status has no NSpid line", root)
}

// check finds a socket of this process in a dump and compares the pid
// and start time the kernel gives it with what root says of this process.
func (it *Iter) check(root string) error {
	self, err := os.Readlink(root + "/self")
	if err != nil {
		return fmt.Errorf("fd iterator: %w: %w", ErrOtherPIDs, err)
	}
	pid, err := strconv.Atoi(self)
	if err != nil {
		return fmt.Errorf("fd iterator: %w: %s/self is %q", ErrOtherPIDs, root, self)
	}
	start, err := startTicks(root, pid)
	if err != nil {
		return fmt.Errorf("fd iterator: %w: %w", ErrOtherPIDs, err)
	}
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fd iterator: probe socket: %w", err)
	}
	defer probe.Close()
	var st unix.Stat_t
	sc, err := probe.(*net.UDPConn).SyscallConn()
	if err == nil {
		cerr := sc.Control(func(fd uintptr) { err = unix.Fstat(int(fd), &st) })
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("fd iterator: stat probe socket: %w", err)
	}
	found := false
	err = it.Dump(func(p int, s, inode uint64) {
		if inode == st.Ino {
			found = p == pid && s == start
		}
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("fd iterator: %w: its own socket not found as pid %d started at tick %d of %s", ErrOtherPIDs, pid, start, root)
	}
	return nil
}

// startTicks reads the start time of root/PID/stat.
func startTicks(root string, pid int) (uint64, error) {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	st, err := scan.ParseStat(b)
	if err != nil {
		return 0, fmt.Errorf("%s/%d/stat: %w", root, pid, err)
	}
	return st.StartTicks, nil
}

// Dump calls fn for every socket file descriptor of every process: the
// process's pid and start time (clock ticks since boot, as in
// /proc/PID/stat) and the socket's inode. A socket held through several
// descriptors comes once per descriptor. The pass is not atomic: a
// process that forks, exits or changes its descriptors meanwhile may be
// seen before or after.
func (it *Iter) Dump(fn func(pid int, startTicks, inode uint64)) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.link == nil {
		return errors.New("fd iterator closed")
	}
	rd, err := it.link.Open()
	if err != nil {
		return fmt.Errorf("open fd iterator: %w", err)
	}
	defer rd.Close()
	n := 0 // bytes of it.buf held, a record cut by the last read
	for {
		m, err := rd.Read(it.buf[n:])
		n += m
		whole := n - n%recordSize
		for b := it.buf[:whole]; len(b) >= recordSize; b = b[recordSize:] {
			fn(int(binary.NativeEndian.Uint32(b[0:4])), binary.NativeEndian.Uint64(b[8:16])/nsPerTick,
				binary.NativeEndian.Uint64(b[16:24]))
		}
		n = copy(it.buf, it.buf[whole:n])
		switch {
		case err == io.EOF || (err == nil && m == 0):
			if n != 0 {
				return fmt.Errorf("read fd iterator: %d bytes left over, not a record", n)
			}
			return nil
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		case err != nil:
			return fmt.Errorf("read fd iterator: %w", err)
		}
	}
}

// Close releases the program and its link.
func (it *Iter) Close() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	var err error
	if it.link != nil {
		err = it.link.Close()
		it.link = nil
	}
	return errors.Join(err, it.objs.Close())
}

// permission marks the kernel's EPERM as ErrNotPermitted, keeping the
// original error.
func permission(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrNotPermitted, err)
	}
	return err
}
