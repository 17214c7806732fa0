// Package scan reads processes from a procfs tree (os-proc-root: /proc, or
// a fake tree in tests) and owns process identity: a process is the pair
// (pid, starttime), so a reused pid is a new process.
//
// The work is two-tier, as DESIGN.md describes. Every Scan reads only
// /proc/PID/stat for every pid, with raw syscalls into reused buffers and
// no allocation per process when nothing changed. The stat fd of each
// process is kept open between scans (within 3/4 of RLIMIT_NOFILE), so a
// steady tick costs one pread per process: a kept procfs fd shows the
// current stat and fails with ESRCH once its process is gone, even when
// the pid was reused. Scanner.Close releases them. cmdline,
// exe, status (the real uid), cgroup and ns/net are read once per new
// (pid, starttime) and cached; every Config.FullRescanEvery scans they are
// read again for everyone, which picks up argv rewrites and renames. A
// returned *Process is immutable and shared between scans while unchanged;
// its Rev says when its cached fields last changed, so consumers can cache
// their own work on (Key, Rev).
//
// Processes that vanish mid-scan (ENOENT, ESRCH, or a stat that is gone or
// shows a new starttime) are skipped silently. Files the agent may not read
// (EACCES: not root, hidepid, ptrace protection) leave their fields empty
// and are reported with one warning per kind naming what is missing and
// for how many processes.
//
// DeepFlow compatibility (legacy os-proc, v6.5): Argv is cmdline split on
// NUL with empty strings removed; ProcessName is Rust's Path::file_name of
// argv[0]; Cmdline is argv joined with single spaces. Kernel threads (no
// argv) are returned, with nil Argv and an empty ProcessName, so that the
// rules step can apply DeepFlow's "never reported" rule itself. The
// container id is found in more cgroup layouts than DeepFlow's (see
// ContainerID).
//
// scan leaves sockets (package sockets), rules and tags to the later steps
// of the pipeline.
package scan
