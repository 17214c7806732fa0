package scan

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
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
	// procs are the processes read since the last Scan took them, by pid;
	// a later read of the same pid (an exec after the fork) replaces the
	// earlier one. exits are the exit times reported for them.
	procs   map[int]*entry
	exits   map[int]time.Time
	dropped uint64
}

// Early returns the Scanner's early reader. Its processes join the next
// Scan's result only if they exited meanwhile: a live one is read again by
// the Scan itself.
func (s *Scanner) Early() *Early { return s.early }

func newEarly(root string, boot time.Time) *Early {
	w := newWorker()
	w.fds = &fdBudget{} // a budget of 0: no stat fd is kept
	return &Early{root: root, boot: boot, w: w, procs: make(map[int]*entry), exits: make(map[int]time.Time)}
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
		return
	}
	ent := e.w.load(pid, st, fd, nil)

	if fd >= 0 {
		_ = unix.Close(fd)
	}
	if ent == nil || ent.proc.Argv == nil {
		return // gone meanwhile, a kernel thread or a zombie: never reported
	}
	ent.fd = -1
	e.procs[pid] = ent
	delete(e.exits, pid)
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

// take empties the reader and returns the entries of the processes that
// exited, their Exited set, sorted by pid.
func (e *Early) take() []*entry {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*entry
	for pid, ent := range e.procs {
		if at, exited := e.exits[pid]; exited {
			ent.proc.Exited = at
			out = append(out, ent)
		}
	}
	clear(e.procs)
	clear(e.exits)
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
	gone := s.early.take()
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
