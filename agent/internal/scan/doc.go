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
// the pid was reused. Scanner.Close releases them. cmdline, exe, the
// owner of /proc/PID (one fstat), the root (one stat of PID/root), cgroup
// and ns/net are read once per new (pid, starttime) and cached; every
// Config.FullRescanEvery scans they are read again for everyone, which
// picks up argv rewrites, renames and setuid. status is not read. A
// returned *Process is immutable and shared between scans while unchanged;
// its Rev says when its cached fields last changed, so consumers can cache
// their own work on (Key, Rev); Key is a procid.Key.
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
// ContainerID). UID and User are DeepFlow's user_id and user: the owner
// of /proc/PID (the effective uid, root for a non-dumpable task), named
// from the passwd file inside the process's own root, read once per root
// per full scan; "" when that file does not name it (not the host's name,
// not the number). The root is the process's to shape, so the file is
// looked up as the process sees it (symlinks and .. stay inside its root),
// a FIFO, device or anything else but a regular file is refused without
// being opened for reading, and only whole lines of its first MiB are
// used; refusals are logged once per cause with a count.
//
// scan leaves sockets (package sockets), rules and tags to the later steps
// of the pipeline.
package scan
