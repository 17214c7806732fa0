package scan

import (
	"time"

	"github.com/proctag/proctag/agent/internal/procid"
)

// Process is one process as the scanner last saw it. A *Process is
// immutable once returned by Scan and is shared between scans while
// nothing in it changed; a change yields a new *Process. It is safe to
// read from any goroutine.
type Process struct {
	// Key is the process's identity: PID and StartTicks (stat's
	// starttime, clock ticks after boot), promoted to Process.
	procid.Key
	PPID int
	// StartTime is BootTime + StartTicks/100 (USER_HZ is 100 on Linux),
	// by the boot time of the scan that first read the process: it stays
	// when a step of the wall clock moves the boot time (Result.Started
	// follows it).
	StartTime time.Time
	// Comm is the kernel's task name from stat (at most 15 bytes, may hold
	// spaces and parentheses). DeepFlow's legacy rules never use it.
	Comm string
	// State is stat's one-letter state (R, S, D, Z, I, ...). A change of
	// State alone does not change Rev.
	State byte
	// Argv is cmdline split on NUL with empty strings removed; nil for
	// kernel threads and zombies (DESIGN.md "Which processes"), and for a
	// cmdline that is not valid UTF-8, which DeepFlow skips.
	Argv []string
	// ProcessName is DeepFlow's process_name: see ProcessName. "" when
	// Argv is nil or argv[0] has no file name ("/", "..").
	ProcessName string
	// Cmdline is Argv joined with single spaces.
	Cmdline string
	// Exe is the target of /proc/PID/exe, "" when absent (kernel thread)
	// or unreadable.
	Exe string
	// UID is DeepFlow's user_id: the owner of /proc/PID, which is the
	// task's effective uid, or 0 when the task is not dumpable (setuid
	// programs, prctl PR_SET_DUMPABLE 0); -1 when it could not be read.
	UID int
	// User is DeepFlow's user: the name of UID in etc/passwd inside the
	// process's root (/proc/PID/root/etc/passwd, so a container's own
	// users), "" when that file has no entry for UID or cannot be read.
	User string
	// NetNS is the inode of the network namespace (ns/net), 0 when
	// unreadable.
	NetNS uint64
	// ContainerID is the 64-hex container id found in the cgroup file, ""
	// outside containers; see ContainerID.
	ContainerID string
	// Cgroup is the cgroup path the container id came from, "" if none.
	Cgroup string
	// Rev is the number of the scan at which any field other than State
	// last changed (the first scan is 1). Consumers cache their own work
	// on (Key, Rev).
	Rev uint64
	// Exited is when the process exited, for a process Early read that
	// was gone by the Scan; zero for a live process.
	Exited time.Time
}

// Result is the outcome of one Scan. It is owned by the caller; the
// *Process values in it are shared and must not be modified.
type Result struct {
	// Time is when the scan started.
	Time time.Time
	// BootTime is the kernel boot time (btime of /proc/stat).
	BootTime time.Time
	// Full is true when every process's cached fields were read again
	// (the first scan and every Config.FullRescanEvery scans).
	Full bool
	// Processes are all processes, kernel threads included, sorted by PID.
	Processes []*Process
	// Added are the processes new in this scan; Removed the ones of the
	// previous scan that are gone (a reused pid shows in both).
	Added, Removed []procid.Key
}

// Started returns when p started by the boot time of this scan, which
// moves with steps of the wall clock as res.Time does, unlike p.StartTime,
// kept as first computed: the age it gives stays true across a step.
func (res *Result) Started(p *Process) time.Time { return startTime(res.BootTime, p.StartTicks) }

// startTime converts stat's starttime ticks to a time.
func startTime(boot time.Time, ticks uint64) time.Time {
	return boot.Add(time.Duration(ticks) * (time.Second / clockTicks))
}

// clockTicks is USER_HZ, the unit of stat's times, fixed at 100 by the
// kernel ABI on every architecture Linux supports today.
const clockTicks = 100
