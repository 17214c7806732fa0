package fakeproc

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// HostNetNS is the inode of the initial network namespace on this machine
// kind; Generate puts host processes in it.
const HostNetNS uint64 = 4026531840

// Tree is a whole fake /proc: what Write lays out under a directory.
type Tree struct {
	// BootTime is the btime line of /proc/stat, unix seconds.
	BootTime int64 `yaml:"boot-time"`
	// Procs are the processes, written in any order.
	Procs []Proc `yaml:"procs"`
	// NetNS holds the socket tables of each network namespace, keyed by the
	// namespace inode that Proc.NetNS refers to.
	NetNS map[uint64]NetTables `yaml:"netns"`
	// Roots are the root filesystems PID/root links to, by name; nil
	// writes one, HostRoot, with HostPasswd.
	Roots map[string]Root `yaml:"roots"`
}

// Proc is one process directory /proc/PID.
type Proc struct {
	PID  int `yaml:"pid"`
	PPID int `yaml:"ppid"`
	// Comm is the task name (at most 15 bytes on a real kernel; any bytes
	// are written as given, including spaces and parentheses).
	Comm string `yaml:"comm"`
	// State is the one-letter state of stat ('R', 'S', 'D', 'Z', 'I', ...);
	// 0 means 'S'.
	State byte `yaml:"state"`
	// StartTicks is field 22 of stat: start time after boot, clock ticks.
	StartTicks uint64 `yaml:"start-ticks"`
	// Argv is written to cmdline NUL-separated with a trailing NUL; nil
	// writes an empty cmdline (a kernel thread).
	Argv []string `yaml:"argv"`
	// RawCmdline, when not empty, is written to cmdline as is and overrides
	// Argv; use it for processes that rewrote argv (spaces, no NULs).
	RawCmdline string `yaml:"raw-cmdline"`
	// Exe is the target of the exe symlink; "" writes no link, as for a
	// kernel thread.
	Exe string `yaml:"exe"`
	// UID and GID fill all four columns of the Uid and Gid status lines
	// and, when Write runs as root, own the process directory, as the
	// effective ids of a dumpable task do on procfs.
	UID int `yaml:"uid"`
	GID int `yaml:"gid"`
	// NetNS is the network namespace inode: ns/net links to "net:[NetNS]"
	// and net/ to the namespace's tables. 0 writes neither.
	NetNS uint64 `yaml:"netns"`
	// HideNetNS leaves out the ns/net link but still links net/ to the
	// tables of NetNS, as procfs shows a process whose ns/net the reader
	// may not follow (pid 1 of a sandbox, another user namespace) while
	// /proc/PID/net/ still opens its namespace's tables.
	HideNetNS bool `yaml:"hide-netns"`
	// Root names the entry of Tree.Roots that the root symlink links to;
	// "" means HostRoot.
	Root string `yaml:"root"`
	// Cgroup is the content of the cgroup file; "" writes "0::/\n".
	Cgroup string `yaml:"cgroup"`
	// FDs are the entries of fd/.
	FDs []FD `yaml:"fds"`
	// Environ is written to environ NUL-separated with a trailing NUL.
	Environ []string `yaml:"environ"`
	// Threads is num_threads of stat and Threads of status; 0 means 1.
	Threads int `yaml:"threads"`
	// Stat carries the stat fields the tree does not model elsewhere; nil
	// picks values typical of a user process or a kernel thread.
	Stat *StatFields `yaml:"stat"`
	// Deny names files of the process directory (stat, status, cmdline,
	// cgroup, environ) written with mode 0, so that readers not running as
	// root get EACCES.
	Deny []string `yaml:"deny"`
}

// FD is one entry of /proc/PID/fd: the descriptor number and the symlink
// target the kernel shows, e.g. "socket:[12345]", "pipe:[678]",
// "/dev/null", "anon_inode:[eventfd]".
type FD struct {
	Num    int    `yaml:"num"`
	Target string `yaml:"target"`
}

// NetTables are the socket tables of one network namespace, in file order.
type NetTables struct {
	TCP  []SockEntry `yaml:"tcp"`
	TCP6 []SockEntry `yaml:"tcp6"`
	UDP  []SockEntry `yaml:"udp"`
	UDP6 []SockEntry `yaml:"udp6"`
}

// Load reads a Tree written as YAML, e.g. a scenario under testdata/proc/.
func Load(path string) (*Tree, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fake proc tree: %w", err)
	}
	var t Tree
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("load fake proc tree %s: %w", path, err)
	}
	return &t, nil
}

// AddSocket appends e to the table proto of namespace ns and links
// "socket:[inode]" into the fd/ of each owner pid at the next free
// descriptor number. It returns false when an owner is not in the tree.
func (t *Tree) AddSocket(ns uint64, proto Proto, e SockEntry, owners ...int) bool {
	if t.NetNS == nil {
		t.NetNS = make(map[uint64]NetTables)
	}
	tabs := t.NetNS[ns]
	switch proto {
	case TCP:
		tabs.TCP = append(tabs.TCP, e)
	case TCP6:
		tabs.TCP6 = append(tabs.TCP6, e)
	case UDP:
		tabs.UDP = append(tabs.UDP, e)
	case UDP6:
		tabs.UDP6 = append(tabs.UDP6, e)
	}
	t.NetNS[ns] = tabs
	ok := true
	for _, pid := range owners {
		p := t.proc(pid)
		if p == nil {
			ok = false
			continue
		}
		next := 0
		for _, fd := range p.FDs {
			next = max(next, fd.Num+1)
		}
		p.FDs = append(p.FDs, FD{Num: next, Target: SocketTarget(e.Inode)})
	}
	return ok
}

func (t *Tree) proc(pid int) *Proc {
	for i := range t.Procs {
		if t.Procs[i].PID == pid {
			return &t.Procs[i]
		}
	}
	return nil
}

// WriteScenario loads the YAML scenario at path, sets its boot time bootAgo
// before now (so that process ages, and with them min-lifetime, do not
// depend on when the scenario was written), and writes it under dir.
func WriteScenario(path, dir string, bootAgo time.Duration) (*Tree, error) {
	t, err := Load(path)
	if err != nil {
		return nil, err
	}
	t.BootTime = time.Now().Add(-bootAgo).Unix()
	return t, t.Write(dir)
}

// SocketTarget is the target of an fd link to socket inode, as the kernel
// shows it: "socket:[12345]".
func SocketTarget(inode uint64) string { return "socket:[" + strconv.FormatUint(inode, 10) + "]" }
