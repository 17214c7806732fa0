// Package fditer lists the socket file descriptors of every process of the
// host in one pass over the kernel's tasks, from a BPF task_file iterator
// (bpf/fditer.c, loaded with cilium/ebpf), instead of a readlinkat per
// descriptor under /proc/PID/fd: on a host with 100,000 sockets that is
// 100,000 system calls, each a path lookup in procfs.
//
// It reports what /proc/PID/fd shows: the group leader's descriptors, with
// the process's pid and its start time in clock ticks (as /proc/PID/stat
// gives it), so that a caller can tell a process from a later one that
// took its pid. The pids are the kernel's global ones, and the kernel walks
// the tasks of the reader's pid namespace only; Open checks that the
// agent is in the pid namespace of the proc root the caller reads, and,
// with a socket of its own, that the root names processes by global pids
// (it does not when it is the procfs of a child pid namespace). Loading needs root, or CAP_BPF with CAP_PERFMON, and a
// kernel with BTF and task_file iterators (5.8 and later).
package fditer
