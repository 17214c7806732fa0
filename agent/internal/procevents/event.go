package procevents

import (
	"bytes"
	"fmt"
	"time"
)

// Kind says what happened to a process. The kernel's kinds mirror the
// PROC_EVENT_* values of include/uapi/linux/cn_proc.h; KindLost is
// proctag's own and says that events were lost before it.
type Kind uint8

// The kinds of Event. Each names the fields of Event it fills.
const (
	// KindFork: a task was created. PID/TGID are the child's thread and
	// process ids, ParentPID/ParentTGID the forking thread's. A child whose
	// PID differs from its TGID is a new thread, not a new process.
	KindFork Kind = iota + 1
	// KindExec: the process PID/TGID called execve; its cmdline, exe and
	// name are new.
	KindExec
	// KindUID: the real (RealID) and effective (EffectiveID) uid changed.
	KindUID
	// KindGID: the real (RealID) and effective (EffectiveID) gid changed.
	KindGID
	// KindSID: the process became a session leader (setsid).
	KindSID
	// KindPtrace: a tracer (TracerPID/TracerTGID) attached, or detached
	// when both are zero.
	KindPtrace
	// KindComm: the task's comm changed to Comm (prctl PR_SET_NAME or a
	// write to /proc/PID/comm).
	KindComm
	// KindCoredump: the process is dumping core; ParentPID/ParentTGID are
	// its parent's ids.
	KindCoredump
	// KindExit: the task ended with the wait status ExitCode; ExitSignal is
	// the signal its parent gets (SIGCHLD normally). ParentPID/ParentTGID
	// are its parent's ids.
	KindExit
	// KindLost: events were lost before this one, so the caller's picture
	// is stale until it polls all processes again. Missed counts the
	// messages known to be missing (0: unknown, the socket overflowed).
	KindLost
)

var kindNames = [...]string{
	KindFork:     "fork",
	KindExec:     "exec",
	KindUID:      "uid",
	KindGID:      "gid",
	KindSID:      "sid",
	KindPtrace:   "ptrace",
	KindComm:     "comm",
	KindCoredump: "coredump",
	KindExit:     "exit",
	KindLost:     "lost",
}

// String returns the kind's lower-case name, as in "exec".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one process event as the kernel reported it. It is a plain
// value (no pointers), so a slice of them costs one allocation; which
// fields are set depends on Kind (see the constants).
//
// Pids are as seen from the initial pid namespace: PID is the task's
// thread id (the kernel's pid), TGID its process id (the kernel's tgid).
type Event struct {
	// Kind is what happened.
	Kind Kind
	// CPU is the cpu that sent the event.
	CPU uint32
	// Seq is the sending cpu's message counter; consecutive messages from
	// one cpu differ by one, so a gap means lost messages.
	Seq uint32
	// Time is when the event happened, on CLOCK_MONOTONIC (ktime_get_ns).
	Time time.Duration

	// PID is the thread id of the task the event is about (for a fork:
	// the child).
	PID int32
	// TGID is the process id of the task the event is about.
	TGID int32
	// ParentPID is the parent's thread id (fork, exit, coredump).
	ParentPID int32
	// ParentTGID is the parent's process id (fork, exit, coredump).
	ParentTGID int32
	// TracerPID is the tracer's thread id (ptrace).
	TracerPID int32
	// TracerTGID is the tracer's process id (ptrace).
	TracerTGID int32

	// RealID is the new real uid or gid (uid, gid).
	RealID uint32
	// EffectiveID is the new effective uid or gid (uid, gid).
	EffectiveID uint32

	// ExitCode is the wait status (as in wait(2): code<<8 or the signal).
	ExitCode uint32
	// ExitSignal is the signal sent to the parent on exit.
	ExitSignal uint32

	// Comm is the new comm, NUL-padded (comm); CommName trims it.
	Comm [16]byte

	// Missed is the number of messages known to be lost (lost; 0 when
	// unknown).
	Missed uint32
}

// Leader reports whether the event is about a thread-group leader, that is
// a process rather than one of its other threads: for a fork, whether the
// child is a new process rather than a new thread. A lost event is never
// about a leader.
func (e *Event) Leader() bool {
	return e.Kind != KindLost && e.PID == e.TGID
}

// CommName returns Comm up to its first NUL.
func (e *Event) CommName() string {
	if i := bytes.IndexByte(e.Comm[:], 0); i >= 0 {
		return string(e.Comm[:i])
	}
	return string(e.Comm[:])
}

// String formats the event for tests and debug logs, for example
// "exec pid=412 tgid=412 cpu=1 seq=7 t=1.5s".
func (e *Event) String() string {
	head := fmt.Sprintf("%s pid=%d tgid=%d cpu=%d seq=%d t=%v", e.Kind, e.PID, e.TGID, e.CPU, e.Seq, e.Time)
	switch e.Kind {
	case KindFork, KindCoredump:
		return fmt.Sprintf("%s parent_pid=%d parent_tgid=%d", head, e.ParentPID, e.ParentTGID)
	case KindExit:
		return fmt.Sprintf("%s parent_pid=%d parent_tgid=%d exit_code=%#x exit_signal=%d", head, e.ParentPID, e.ParentTGID, e.ExitCode, e.ExitSignal)
	case KindUID, KindGID:
		return fmt.Sprintf("%s real=%d effective=%d", head, e.RealID, e.EffectiveID)
	case KindPtrace:
		return fmt.Sprintf("%s tracer_pid=%d tracer_tgid=%d", head, e.TracerPID, e.TracerTGID)
	case KindComm:
		return fmt.Sprintf("%s comm=%q", head, e.CommName())
	case KindLost:
		return fmt.Sprintf("lost missed=%d", e.Missed)
	}
	return head
}
