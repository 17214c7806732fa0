// Package fditer lists the socket file descriptors of every process of the
// host in one pass over the kernel's tasks, from a BPF task_file iterator
// (bpf/fditer.c, loaded with cilium/ebpf), instead of a readlinkat per
// descriptor under /proc/PID/fd: on a host with 100,000 sockets that is
// 100,000 system calls, each a path lookup in procfs.
//
// It reports what /proc/PID/fd shows: the group leader's descriptors, with
// the process's pid and its start time in clock ticks (as /proc/PID/stat
// gives it), so that a caller can tell a process from a later one that
// took its pid. The pids are the kernel's global ones; Open checks, with a
// socket of its own, that the proc root the caller reads names processes
// by them (it does not when the root is the procfs of another pid
// namespace). Loading needs root, or CAP_BPF with CAP_PERFMON, and a
// kernel with BTF and task_file iterators (5.8 and later).
package fditer
