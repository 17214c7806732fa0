package scan

import (
	"bytes"
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Kinds of per-process data that can be unreadable, for the one warning.
const (
	kindStat = iota
	kindCmdline
	kindExe
	kindStatus
	kindCgroup
	kindNetNS
	numKinds
)

var kindNames = [numKinds]string{"stat", "cmdline", "exe", "status", "cgroup", "netns"}

// worker scans one contiguous range of pids with its own buffers. Its
// fields are touched by one goroutine during a scan and read by the
// Scanner after it.
type worker struct {
	rootfd   int
	scanNo   uint64
	full     bool
	bootTime time.Time

	path, stat, buf, cgroup, status, link []byte

	out            []*entry
	added, removed []Key
	missing        [numKinds]int
	badStat        int
	err            error
}

func newWorker() *worker {
	return &worker{
		path:   make([]byte, 0, 64),
		stat:   make([]byte, 0, 1024),
		buf:    make([]byte, 0, 4096),
		cgroup: make([]byte, 0, 1024),
		status: make([]byte, 0, 2048),
		link:   make([]byte, 0, 256),
	}
}

func (w *worker) reset(rootfd int, scanNo uint64, full bool, boot time.Time) {
	w.rootfd, w.scanNo, w.full, w.bootTime = rootfd, scanNo, full, boot
	w.out, w.added, w.removed = w.out[:0], w.added[:0], w.removed[:0]
	w.missing, w.badStat, w.err = [numKinds]int{}, 0, nil
}

// run scans pids (ascending) against prev, the cached entries of the same
// pid range (ascending), merging the two lists.
func (w *worker) run(ctx context.Context, pids []int, prev []*entry) {
	j := 0
	for i, pid := range pids {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				w.err = err
				return
			}
		}
		for j < len(prev) && prev[j].proc.PID < pid {
			w.removed = append(w.removed, prev[j].proc.Key)
			j++
		}
		var old *entry
		if j < len(prev) && prev[j].proc.PID == pid {
			old = prev[j]
			j++
		}
		st, err := w.readStat(pid)
		if err != nil {
			if old != nil {
				w.removed = append(w.removed, old.proc.Key)
			}
			continue
		}
		if old != nil && old.proc.StartTicks != st.startTicks {
			w.removed = append(w.removed, old.proc.Key)
			old = nil
		}
		var e *entry
		switch {
		case old == nil:
			e = w.load(pid, st, nil)
			if e != nil {
				w.added = append(w.added, e.proc.Key)
			}
		case w.full:
			e = w.load(pid, st, old)
			if e == nil {
				w.removed = append(w.removed, old.proc.Key)
			}
		default:
			e = w.update(old, st)
		}
		if e != nil {
			w.out = append(w.out, e)
		}
	}
	for ; j < len(prev); j++ {
		w.removed = append(w.removed, prev[j].proc.Key)
	}
}

// readStat reads and parses PID/stat into w.stat. Any error means the
// process is skipped: vanished silently, unreadable or malformed counted.
func (w *worker) readStat(pid int) (statFields, error) {
	w.path = appendPIDPath(w.path[:0], pid, "stat")
	var err error
	w.stat, err = readAt(w.rootfd, w.path, w.stat, true)
	if err != nil {
		if !vanished(err) {
			w.missing[kindStat]++
		}
		return statFields{}, err
	}
	st, err := parseStat(w.stat)
	if err != nil {
		w.badStat++
		return st, err
	}
	if st.pid != pid {
		w.badStat++
		return st, ErrBadStat
	}
	return st, nil
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
	return &entry{proc: &cp, cmdline: old.cmdline, cgroup: old.cgroup}
}

// load reads the slow-tier files of a process. With old (a full re-read)
// it returns old when nothing changed. It returns nil when the process
// vanished meanwhile (its stat is gone or shows another start time).
func (w *worker) load(pid int, st statFields, old *entry) *entry {
	cmdline := w.readFile(pid, "cmdline", kindCmdline, &w.buf)
	cgroup := w.readFile(pid, "cgroup", kindCgroup, &w.cgroup)
	uid := -1
	if u, ok := statusRealUID(w.readFile(pid, "status", kindStatus, &w.status)); ok {
		uid = u
	}
	var exe string
	if l := w.readLink(pid, "exe", kindExe); old != nil && string(l) == old.proc.Exe {
		exe = old.proc.Exe
	} else {
		exe = string(l)
	}
	var netns uint64
	if l := w.readLink(pid, "ns/net", kindNetNS); len(l) > 0 {
		netns = parseNetNSLink(l)
	}

	// The files belong to the process only if it is still the same one.
	st2, err := w.readStat(pid)
	if err != nil || st2.startTicks != st.startTicks {
		return nil
	}
	st = st2

	if old != nil {
		p := old.proc
		if string(cmdline) == old.cmdline && exe == p.Exe && uid == p.UID &&
			netns == p.NetNS && string(cgroup) == old.cgroup {
			return w.update(old, st)
		}
	}
	p := &Process{
		Key:        Key{PID: pid, StartTicks: st.startTicks},
		PID:        pid,
		PPID:       st.ppid,
		StartTicks: st.startTicks,
		StartTime:  startTime(w.bootTime, st.startTicks),
		Comm:       string(st.comm),
		State:      st.state,
		Exe:        exe,
		UID:        uid,
		NetNS:      netns,
		Rev:        w.scanNo,
	}
	e := &entry{proc: p, cmdline: string(cmdline), cgroup: string(cgroup)}
	p.Argv = ParseCmdline(cmdline)
	if len(p.Argv) > 0 {
		p.ProcessName = ProcessName(p.Argv[0])
		p.Cmdline = joinArgv(p.Argv)
	}
	p.ContainerID, p.Cgroup = ContainerID(cgroup)
	if old != nil && old.proc.User != "" && old.proc.UID == uid {
		p.User = old.proc.User
	}
	return e
}

// readFile reads PID/name into *buf, counting EACCES and the like; a
// missing file reads as empty.
func (w *worker) readFile(pid int, name string, kind int, buf *[]byte) []byte {
	w.path = appendPIDPath(w.path[:0], pid, name)
	b, err := readAt(w.rootfd, w.path, *buf, false)
	*buf = b[:0]
	if err != nil {
		if !vanished(err) {
			w.missing[kind]++
		}
		return nil
	}
	return b
}

// readLink reads the symlink PID/name into w.link; a missing link (kernel
// thread exe) reads as empty.
func (w *worker) readLink(pid int, name string, kind int) []byte {
	w.path = appendPIDPath(w.path[:0], pid, name)
	b, err := readlinkAt(w.rootfd, w.path, w.link)
	w.link = b[:0]
	if err != nil {
		if !vanished(err) {
			w.missing[kind]++
		}
		return nil
	}
	return b
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
