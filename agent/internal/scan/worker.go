package scan

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/procid"
)

// Kinds of per-process data that can be unreadable, for the one warning.
const (
	kindStat = iota
	kindCmdline
	kindExe
	kindUID
	kindRoot
	kindCgroup
	kindNetNS
	numKinds
)

var kindNames = [numKinds]string{"stat", "cmdline", "exe", "uid", "root", "cgroup", "netns"}

// worker scans one contiguous range of pids with its own buffers. Its
// fields are touched by one goroutine during a scan and read by the
// Scanner after it.
type worker struct {
	rootfd   int
	scanNo   uint64
	full     bool
	bootTime time.Time
	// reread are the pids to read again although the scan is not full
	// (Scanner.Reread); read-only during a scan, shared by the workers.
	reread map[int]struct{}

	path, stat, buf, cgroup, link []byte

	fds *fdBudget
	// texts interns cmdline and cgroup contents; shared.
	texts *texts

	out            []*entry
	added, removed []procid.Key
	// spans say which parts of out, added and removed each chunk of pids
	// this worker scanned produced.
	spans []span
	// opened are kept fds new in this scan (closed if the scan fails);
	// closeFDs the kept fds of dropped entries (closed if it commits).
	opened, closeFDs []int
	missing          [numKinds]int
	badStat          int
	err              error
}

func newWorker() *worker {
	return &worker{
		path:   make([]byte, 0, 64),
		stat:   make([]byte, 0, 1024),
		buf:    make([]byte, 0, 4096),
		cgroup: make([]byte, 0, 1024),
		link:   make([]byte, 0, 256),
	}
}

func (w *worker) reset(rootfd int, scanNo uint64, full bool, boot time.Time) {
	w.rootfd, w.scanNo, w.full, w.bootTime = rootfd, scanNo, full, boot
	w.out, w.added, w.removed, w.spans = w.out[:0], w.added[:0], w.removed[:0], w.spans[:0]
	w.opened, w.closeFDs = w.opened[:0], w.closeFDs[:0]
	w.missing, w.badStat, w.err = [numKinds]int{}, 0, nil
}

// span is what scanning one chunk of pids appended to a worker's out,
// added and removed: the elements from the recorded starts up to the next
// span's, or to the end.
type span struct {
	chunk               int
	out, added, removed int
}

// run scans chunk number chunk, pids (ascending), against prev, the cached
// entries of the same pid range (ascending), merging the two lists.
func (w *worker) run(ctx context.Context, chunk int, pids []int, prev []*entry) {
	if err := ctx.Err(); err != nil {
		w.err = err
		return
	}
	w.spans = append(w.spans, span{chunk: chunk, out: len(w.out), added: len(w.added), removed: len(w.removed)})
	j := 0
	for _, pid := range pids {
		for j < len(prev) && prev[j].proc.PID < pid {
			w.drop(prev[j])
			j++
		}
		var old *entry
		if j < len(prev) && prev[j].proc.PID == pid {
			old = prev[j]
			j++
		}
		st, fd, err := w.readStat(pid, old)
		if err != nil {
			if old != nil {
				w.drop(old)
			}
			continue
		}
		if old != nil && old.proc.StartTicks != st.startTicks {
			// A reused pid. A kept procfs fd of the old process fails with
			// ESRCH, so fd is new; on a fake tree rewritten in place it may
			// be the same file.
			w.removed = append(w.removed, old.proc.Key)
			if old.fd >= 0 && old.fd != fd {
				w.closeFDs = append(w.closeFDs, old.fd)
			}
			old = nil
		}
		// A stat fd opened in this scan went through a path lookup, which
		// updated its inode's owner; a kept one may show a stale owner.
		fresh := -1
		if old == nil || fd != old.fd {
			fresh = fd
		}
		var e *entry
		switch {
		case old == nil:
			e = w.load(pid, st, fresh, nil)
			if e != nil {
				w.added = append(w.added, e.proc.Key)
			}
		case w.full || w.rereads(old, st):
			e = w.load(pid, st, fresh, old)
		default:
			e = w.update(old, st)
		}
		if e == nil {
			if old != nil {
				w.drop(old)
			}
			if fd >= 0 && (old == nil || fd != old.fd) {
				w.closeNow(fd)
			}
			continue
		}
		if old != nil && fd != old.fd {
			// The process is the same but its kept fd was replaced.
			if old.fd >= 0 {
				w.closeFDs = append(w.closeFDs, old.fd)
			}
			if e == old {
				cp := *old
				e = &cp
			}
		}
		if fd >= 0 && (old == nil || fd != old.fd) {
			w.opened = append(w.opened, fd)
		}
		e.fd = fd
		w.out = append(w.out, e)
	}
	for ; j < len(prev); j++ {
		w.drop(prev[j])
	}
}

// drop records a cached process as removed; its kept fd is closed when
// the scan commits.
func (w *worker) drop(old *entry) {
	w.removed = append(w.removed, old.proc.Key)
	if old.fd >= 0 {
		w.closeFDs = append(w.closeFDs, old.fd)
	}
}

// closeNow closes a kept fd that never made it into an entry.
func (w *worker) closeNow(fd int) {
	_ = unix.Close(fd)
	w.fds.open.Add(-1)
}

// readStat reads and parses PID/stat into w.stat, through old's kept fd
// when it still reads, else through a fresh open whose fd is kept while
// the budget allows (-1 otherwise). Any error means the process is
// skipped: vanished silently, unreadable or malformed counted.
func (w *worker) readStat(pid int, old *entry) (statFields, int, error) {
	if old != nil && old.fd >= 0 {
		b, err := preadAll(old.fd, w.stat)
		w.stat = b[:0]
		if err == nil {
			if st, err := parseStat(b); err == nil && st.pid == pid {
				return st, old.fd, nil
			}
		}
		// ESRCH: the process exited or the pid now names another one.
	}
	w.path = appendPIDPath(w.path[:0], pid, "stat")
	fd, err := openAt(w.rootfd, w.path)
	if err != nil {
		if !vanished(err) {
			w.missing[kindStat]++
		}
		return statFields{}, -1, err
	}
	b, err := preadAll(fd, w.stat)
	w.stat = b[:0]
	keep := err == nil && w.fds.take()
	if !keep {
		_ = unix.Close(fd)
		fd = -1
	}
	if err != nil {
		if !vanished(err) {
			w.missing[kindStat]++
		}
		return statFields{}, -1, err
	}
	st, err := parseStat(b)
	if err == nil && st.pid != pid {
		err = ErrBadStat
	}
	if err != nil {
		w.badStat++
		if fd >= 0 {
			w.closeNow(fd)
		}
		return st, -1, err
	}
	return st, fd, nil
}

// rereads reports whether a steady scan reads the cached process old
// again, whose stat now shows st: when Scanner.Reread asked for it (an
// execve or a uid change reported by the process connector); when its
// comm changed, which an execve of another program does (so that a
// polling agent, which gets no events, does not keep the old program's
// cmdline and exe until the next full scan); and when it became a zombie,
// whose cmdline is empty, so that it stops being reported at once rather
// than at the next full scan (a zombie that nobody reaps may stay for
// good).
func (w *worker) rereads(old *entry, st statFields) bool {
	if string(st.comm) != old.proc.Comm || (st.state == 'Z' && old.proc.State != 'Z') {
		return true
	}
	_, ok := w.reread[old.proc.PID]
	return ok
}

// update is the steady path: only stat was read. It returns old when
// nothing it shows changed.
func (w *worker) update(old *entry, st statFields) *entry {
	p := old.proc
	if string(st.comm) == p.Comm && st.ppid == p.PPID && st.state == p.State {
		return old
	}
	cp := *p
	cp.State = st.state
	if string(st.comm) != p.Comm || st.ppid != p.PPID {
		cp.Comm, cp.PPID, cp.Rev = string(st.comm), st.ppid, w.scanNo
	}
	return &entry{proc: &cp, cmdline: old.cmdline, cgroup: old.cgroup, root: old.root, fd: old.fd}
}

// load reads the slow-tier files of a process; statFD is its stat fd when
// opened in this scan, else -1. With old (a full re-read) it returns old
// when nothing changed. It returns nil when the process vanished
// meanwhile: cmdline and the PID directory exist for every live process,
// kernel threads and zombies included, so their absence means it exited.
func (w *worker) load(pid int, st statFields, statFD int, old *entry) *entry {
	if st.flags&pfKthread != 0 {
		return w.loadKthread(pid, st, statFD, old)
	}
	cmdline, gone := w.readFile(pid, "cmdline", kindCmdline, &w.buf)
	if gone {
		return nil
	}
	uid, gone := w.owner(pid, statFD)
	if gone {
		return nil
	}
	root := w.root(pid)
	// A process that exits during these reads is skipped, not published
	// half read (no cgroup, exe or namespace): a missing file makes load
	// read stat again. A zombie's exe and ns/net are gone for good, so for
	// one the missing links are no sign.
	cgroup, cgroupGone := w.readFile(pid, "cgroup", kindCgroup, &w.cgroup)
	l, exeGone := w.readLink(pid, "exe", kindExe)
	var exe string
	if old != nil && string(l) == old.proc.Exe {
		exe = old.proc.Exe
	} else {
		exe = string(l)
	}
	l, nsGone := w.readLink(pid, "ns/net", kindNetNS)
	var netns uint64
	if len(l) > 0 {
		netns = parseNetNSLink(l)
	}
	if (cgroupGone || exeGone || nsGone) && st.state != 'Z' && w.exited(pid, st) {
		return nil
	}

	if old != nil {
		p := old.proc
		if string(cmdline) == old.cmdline && exe == p.Exe && uid == p.UID && root == old.root &&
			netns == p.NetNS && string(cgroup) == old.cgroup {
			w.texts.keep(old.cmdline)
			w.texts.keep(old.cgroup)
			return w.update(old, st)
		}
	}
	p := w.newProcess(pid, st)
	if old != nil {
		// The same process (the same start ticks): its start time stays
		// the one first computed, which with its pid names it on the
		// wire, although the boot time moves with every step of the
		// wall clock.
		p.StartTime = old.proc.StartTime
	}
	p.Exe, p.UID, p.NetNS = exe, uid, netns
	e := &entry{proc: p, cmdline: w.texts.intern(cmdline), cgroup: w.texts.intern(cgroup), root: root, fd: -1}
	// DeepFlow reads cmdline with procfs's Process::cmdline, a
	// read_to_string that fails on invalid UTF-8, and then skips the
	// process (ProcessData::try_from in linux_process.rs): no argv here
	// has the same effect, not reported and not a parent.
	if utf8.Valid(cmdline) {
		p.Argv = SplitCmdline(e.cmdline)
	}
	if len(p.Argv) > 0 {
		p.ProcessName = ProcessName(p.Argv[0])
		p.Cmdline = joinArgv(p.Argv)
	}
	p.ContainerID, p.Cgroup = ContainerID(e.cgroup)
	return e
}

// pfKthread is PF_KTHREAD in the flags field of stat
// (include/linux/sched.h): the task is a kernel thread.
const pfKthread = 0x00200000

// loadKthread is load for a kernel thread. It has no cmdline, exe or
// sockets, lives in the initial namespaces and is never reported (DESIGN.md
// "Which processes"), so only its owner and root (for the user name) are
// read: eight system calls fewer per kernel thread on a cold scan.
func (w *worker) loadKthread(pid int, st statFields, statFD int, old *entry) *entry {
	uid, gone := w.owner(pid, statFD)
	if gone {
		return nil
	}
	root := w.root(pid)
	if old != nil && old.proc.UID == uid && old.root == root && old.proc.Argv == nil && old.proc.Exe == "" {
		return w.update(old, st)
	}
	p := w.newProcess(pid, st)
	p.UID = uid
	return &entry{proc: p, root: root, fd: -1}
}

// root identifies the root directory of pid, for its user name.
func (w *worker) root(pid int) rootKey {
	w.path = appendPIDPath(w.path[:0], pid, "root")
	root, err := statRoot(w.rootfd, w.path)
	if err != nil && !vanished(err) {
		w.missing[kindRoot]++
	}
	return root
}

// newProcess returns the Process of pid with the fields of its stat.
func (w *worker) newProcess(pid int, st statFields) *Process {
	return &Process{
		Key:       procid.Key{PID: pid, StartTicks: st.startTicks},
		PPID:      st.ppid,
		StartTime: startTime(w.bootTime, st.startTicks),
		Comm:      string(st.comm),
		State:     st.state,
		Rev:       w.scanNo,
	}
}

// owner returns the uid owning /proc/PID, DeepFlow's user_id: its agent
// (linux_process.rs, TryFrom<&Process> for ProcessData) takes
// proc.uid() of the procfs crate, which is st_uid of an fstat of the
// process's /proc/PID directory fd (procfs src/process/mod.rs,
// Process::uid and Process::metadata). The kernel owns every inode of
// /proc/PID by the task's effective uid, or by root when the task is not
// dumpable (fs/proc/base.c task_dump_owner); the directory's getattr
// computes it afresh, a file's inode is updated on each path lookup
// (pid_revalidate). So a stat fd opened in this scan gives it with one
// fstat, else one fstatat of the directory does. gone reports that the
// process exited; uid is -1 when it could not be read.
func (w *worker) owner(pid, statFD int) (uid int, gone bool) {
	var st unix.Stat_t
	var err error
	if statFD >= 0 {
		err = unix.Fstat(statFD, &st)
	} else {
		w.path = append(strconv.AppendInt(w.path[:0], int64(pid), 10), 0)
		err = fstatat(w.rootfd, w.path, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	switch {
	case err == nil:
		return int(st.Uid), false
	case vanished(err):
		return -1, true
	}
	w.missing[kindUID]++
	return -1, false
}

// readFile reads PID/name into *buf, counting EACCES and the like; gone
// reports ENOENT or ESRCH. A proc file that does not fill the buffer is
// complete (seq_file and cmdline reads hand out everything that fits), so
// one read suffices.
func (w *worker) readFile(pid int, name string, kind int, buf *[]byte) (b []byte, gone bool) {
	w.path = appendPIDPath(w.path[:0], pid, name)
	b, err := readAt(w.rootfd, w.path, *buf)
	*buf = b[:0]
	if err != nil {
		if vanished(err) {
			return nil, true
		}
		w.missing[kind]++
		return nil, false
	}
	return b, false
}

// exited reports whether the process pid, whose stat read st when this
// scan began, has exited since: its stat is gone, says another start time
// (the pid was reused) or says it is a zombie or dead. It reads stat
// again, which load does only when a file it read was missing.
func (w *worker) exited(pid int, st statFields) bool {
	w.path = appendPIDPath(w.path[:0], pid, "stat")
	b, err := readAt(w.rootfd, w.path, w.stat)
	w.stat = b[:0]
	if err != nil {
		return vanished(err)
	}
	now, err := parseStat(b)
	return err == nil && (now.startTicks != st.startTicks || now.state == 'Z' || now.state == 'X')
}

// readLink reads the symlink PID/name into w.link; a missing link (kernel
// thread exe) reads as empty. gone reports ENOENT or ESRCH: the process
// exited, or the link is one a zombie no longer has.
func (w *worker) readLink(pid int, name string, kind int) (b []byte, gone bool) {
	w.path = appendPIDPath(w.path[:0], pid, name)
	b, err := readlinkAt(w.rootfd, w.path, w.link)
	w.link = b[:0]
	if err != nil {
		if vanished(err) {
			return nil, true
		}
		w.missing[kind]++
		return nil, false
	}
	return b, false
}

// parseNetNSLink reads the inode of a "net:[4026531840]" link target.
func parseNetNSLink(l []byte) uint64 {
	v, ok := bytes.CutPrefix(l, []byte("net:["))
	if !ok {
		return 0
	}
	v, ok = bytes.CutSuffix(v, []byte("]"))
	if !ok {
		return 0
	}
	n, _ := atou(v)
	return n
}

// vanished reports whether err means the process exited: ENOENT, ESRCH.
func vanished(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}
