package caps

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability number, as in capabilities(7)
// (CAP_SYS_PTRACE is 19).
type Cap uint

// The capabilities proctag asks for.
const (
	// DACReadSearch lets the agent list other users' /proc/PID/fd and read
	// their environ.
	DACReadSearch Cap = unix.CAP_DAC_READ_SEARCH
	// SetGID and SetUID let the agent start os-app-tag-exec as
	// os-app-tag-exec-user when it is not root.
	SetGID Cap = unix.CAP_SETGID
	SetUID Cap = unix.CAP_SETUID
	// SysPtrace lets the agent read other users' exe, fd, root and ns/net
	// links (procfs checks them like ptrace(2) does).
	SysPtrace Cap = unix.CAP_SYS_PTRACE
)

// names are the capabilities' names, by number, as capabilities(7)
// spells them.
var names = map[Cap]string{
	unix.CAP_CHOWN: "CAP_CHOWN", unix.CAP_DAC_OVERRIDE: "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH: "CAP_DAC_READ_SEARCH", unix.CAP_FOWNER: "CAP_FOWNER",
	unix.CAP_FSETID: "CAP_FSETID", unix.CAP_KILL: "CAP_KILL", unix.CAP_SETGID: "CAP_SETGID",
	unix.CAP_SETUID: "CAP_SETUID", unix.CAP_SETPCAP: "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE: "CAP_LINUX_IMMUTABLE", unix.CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST: "CAP_NET_BROADCAST", unix.CAP_NET_ADMIN: "CAP_NET_ADMIN",
	unix.CAP_NET_RAW: "CAP_NET_RAW", unix.CAP_IPC_LOCK: "CAP_IPC_LOCK", unix.CAP_IPC_OWNER: "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE: "CAP_SYS_MODULE", unix.CAP_SYS_RAWIO: "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT: "CAP_SYS_CHROOT", unix.CAP_SYS_PTRACE: "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT: "CAP_SYS_PACCT", unix.CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT: "CAP_SYS_BOOT", unix.CAP_SYS_NICE: "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE: "CAP_SYS_RESOURCE", unix.CAP_SYS_TIME: "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG: "CAP_SYS_TTY_CONFIG", unix.CAP_MKNOD: "CAP_MKNOD", unix.CAP_LEASE: "CAP_LEASE",
	unix.CAP_AUDIT_WRITE: "CAP_AUDIT_WRITE", unix.CAP_AUDIT_CONTROL: "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP: "CAP_SETFCAP", unix.CAP_MAC_OVERRIDE: "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN: "CAP_MAC_ADMIN", unix.CAP_SYSLOG: "CAP_SYSLOG", unix.CAP_WAKE_ALARM: "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND: "CAP_BLOCK_SUSPEND", unix.CAP_AUDIT_READ: "CAP_AUDIT_READ",
	unix.CAP_PERFMON: "CAP_PERFMON", unix.CAP_BPF: "CAP_BPF", unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// String is the capability's name, e.g. "CAP_SYS_PTRACE"; an unknown
// number is "CAP_<n>".
func (c Cap) String() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("CAP_%d", uint(c))
}

// Parse reads a capability name as systemd and capabilities(7) write it,
// with or without the CAP_ prefix, in any case ("CAP_SYS_PTRACE",
// "sys_ptrace").
func Parse(name string) (Cap, error) {
	want := strings.ToUpper(name)
	if !strings.HasPrefix(want, "CAP_") {
		want = "CAP_" + want
	}
	for c, n := range names {
		if n == want {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%q is not a capability name", name)
}

// Set is a set of capabilities, bit n for capability n. Its zero value is
// the empty set.
type Set uint64

// Of is the set of cs.
func Of(cs ...Cap) Set {
	var s Set
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Has reports whether every one of cs is in s.
func (s Set) Has(cs ...Cap) bool {
	o := Of(cs...)
	return s&o == o
}

// Missing is the capabilities of cs that s lacks, in the order given.
func (s Set) Missing(cs ...Cap) []Cap {
	var out []Cap
	for _, c := range cs {
		if !s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// Caps lists the set's capabilities in ascending order.
func (s Set) Caps() []Cap {
	var out []Cap
	for c := Cap(0); c < 64; c++ {
		if s&(1<<c) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// String lists the names, comma-separated; "none" for the empty set.
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	var b strings.Builder
	for i, c := range s.Caps() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.String())
	}
	return b.String()
}

// Sets are a thread's capability sets, as capget(2) returns them.
type Sets struct {
	// Effective are the capabilities the kernel checks now.
	Effective Set
	// Permitted bounds what the thread may make effective.
	Permitted Set
	// Inheritable are kept across execve(2) for programs that ask for
	// them in their file capabilities; the ambient set is within them.
	Inheritable Set
}

// Current is the calling thread's sets, which are the agent's (see the
// package comment).
func Current() (Sets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return Sets{}, fmt.Errorf("capget: %w", err)
	}
	join := func(lo, hi uint32) Set { return Set(lo) | Set(hi)<<32 }
	return Sets{
		Effective:   join(data[0].Effective, data[1].Effective),
		Permitted:   join(data[0].Permitted, data[1].Permitted),
		Inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

// DropInheritable empties the calling thread's inheritable and ambient
// sets, so that a program it starts gets no capability from the agent (a
// program run as another non-root user would otherwise keep the agent's
// ambient capabilities). The effective and permitted sets stay. The caller
// must hold the thread with runtime.LockOSThread and never unlock it, so
// that the changed thread ends with its goroutine.
func DropInheritable() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		// EINVAL: a kernel before 4.3, which has no ambient set.
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	if data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return nil
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
