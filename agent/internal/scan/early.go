package scan

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/procid"
)

// maxEarly bounds the processes Early keeps between two scans: a fork
// storm beyond it is left to the scans, which see whatever still lives.
const maxEarly = 4096

// Early reads processes as the process connector reports their fork or
// exec, before the next Scan, so that a process that exits before that
// Scan is still reported once, marked with its exit time. Read and Exit
// are safe for concurrent use with each other and with Scan; they use
// their own buffers and never keep a file open.
type Early struct {
	root string
	boot time.Time

	mu sync.Mutex
	w  *worker
	// procs are the processes read since a Scan last saw them, by pid;
	// a later read of the same pid (an exec after the fork) replaces the
	// earlier one. exits are the exit times reported for them, and missed
	// counts the scans that did not list one still alive (see take).
	procs   map[int]*entry
	exits   map[int]time.Time
	missed  map[int]int
	dropped uint64
}

// maxMissed is how many scans may miss a process Early read before it is
// let go without an exit: one forked after a scan listed the PIDs is
// listed by the next, and one reaped before its exit event came has that
// event by then, unless it was lost.
const maxMissed = 2

// Early returns the Scanner's early reader. Its processes join the next
// Scan's result only if they exited meanwhile: a live one is read again by
// the Scan itself.
func (s *Scanner) Early() *Early { return s.early }

func newEarly(root string, boot time.Time, t *texts) *Early {
	w := newWorker()
	w.fds = &fdBudget{} // a budget of 0: no stat fd is kept
	w.texts = t
	return &Early{root: root, boot: boot, w: w, procs: make(map[int]*entry), exits: make(map[int]time.Time), missed: make(map[int]int)}
}

// Read reads process pid now, as a Scan would read a new process, and keeps
// it for the next Scan. A process that is already gone, or a kernel
// thread, is not kept.
func (e *Early) Read(pid int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.procs[pid]; !ok && len(e.procs) >= maxEarly {
		e.dropped++
		return
	}
	rootfd, err := unix.Open(e.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(rootfd)
	e.w.reset(rootfd, 0, true, e.boot)
	st, fd, err := e.w.readStat(pid, nil)
	if err != nil {
		e.forget(pid)
		return
	}
	ent := e.w.load(pid, st, fd, nil)

	if fd >= 0 {
		_ = unix.Close(fd)
	}
	if ent == nil || ent.proc.Argv == nil {
		// Gone meanwhile, a kernel thread or a zombie: never reported.
		// What an earlier read kept (at the fork, a copy of the parent)
		// is no longer what the process is, after the exec this read is
		// for: it goes too.
		e.forget(pid)
		return
	}
	ent.fd = -1
	e.procs[pid] = ent
	delete(e.exits, pid)
	delete(e.missed, pid)
}

// forget drops what Early keeps of pid.
func (e *Early) forget(pid int) {
	delete(e.procs, pid)
	delete(e.exits, pid)
	delete(e.missed, pid)
}

// Exit records that process pid exited at t; it matters only for a
// process Read kept.
func (e *Early) Exit(pid int, t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.procs[pid]; ok {
		e.exits[pid] = t

	}
}

// Dropped is how many reads were refused because maxEarly processes were
// already kept.
func (e *Early) Dropped() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// take returns the entries of the processes that exited, their Exited
// set, sorted by pid, and lets go of them and of those the scan listed
// (it reads them itself). It keeps the others, which the scan did not
// list: one forked after the scan listed the PIDs, or reaped before it
// with its exit event still to come, for at most maxMissed scans.
func (e *Early) take(listed func(procid.Key) bool) []*entry {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*entry
	for pid, ent := range e.procs {
		switch at, exited := e.exits[pid]; {
		case exited:
			ent.proc.Exited = at
			out = append(out, ent)
			e.forget(pid)
		case listed(ent.proc.Key):
			e.forget(pid)
		default:
			if e.missed[pid]++; e.missed[pid] > maxMissed {
				e.forget(pid)
			}
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return a.proc.PID - b.proc.PID })
	return out
}

// addExited puts the exited early processes into res, in pid order, and
// names their users from the passwd cache where it knows their root
// (their own root is gone). One whose pid the scan found as a zombie of
// the same start time takes the zombie's place in res (a zombie has no
// cmdline and is never reported; the cache keeps it); one whose pid the
// scan found otherwise, alive or reused, is left out.
func (s *Scanner) addExited(rootfd int, res *Result) {
	gone := s.early.take(func(k procid.Key) bool {
		i, found := slices.BinarySearchFunc(res.Processes, k.PID, func(p *Process, pid int) int { return p.PID - pid })
		return found && res.Processes[i].Key == k
	})
	if len(gone) == 0 {
		return
	}
	at := make(map[int]int, len(res.Processes))
	for i, p := range res.Processes {
		at[p.PID] = i
	}
	added := false
	for _, ent := range gone {
		p := ent.proc
		i, found := at[p.PID]
		if found && (res.Processes[i].Key != p.Key || res.Processes[i].State != 'Z') {
			continue
		}
		p.Rev = s.scanNo
		p.User = s.users.name(rootfd, p.PID, ent.root, p.UID)
		if found {
			res.Processes[i] = p
			continue
		}
		res.Added = append(res.Added, p.Key)
		res.Processes = append(res.Processes, p)
		added = true
	}
	if added {
		slices.SortStableFunc(res.Processes, func(a, b *Process) int { return a.PID - b.PID })
	}
}
