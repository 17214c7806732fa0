// Package fakeproc writes fake /proc trees in the kernel's exact file
// formats, for tests and benchmarks of the packages that read /proc (scan,
// sockets).
//
// A Tree is a plain description of a host: boot time, processes and the
// socket tables of each network namespace. Tree.Write lays it out under a
// directory the way procfs presents it (see the kernel's
// Documentation/filesystems/proc.rst and man 5 proc):
//
//	stat                       btime line (and the usual cpu/ctxt lines)
//	net -> .fakeproc/net/N     the netns of the first process
//	PID/stat                   52 fields, comm in parentheses, as do_task_stat prints
//	PID/status                 as proc_pid_status prints (Name escaped)
//	PID/cmdline                argv NUL-separated with a trailing NUL; empty for kernel threads
//	PID/environ                NUL-separated with a trailing NUL
//	PID/cgroup                 file content as given (v1 lines or "0::/path")
//	PID/exe                    symlink to the executable (absent for kernel threads)
//	PID/ns/net                 symlink "net:[N]" (left out with Proc.HideNetNS)
//	PID/fd/N                   symlinks "socket:[N]", "pipe:[N]", "/dev/null", ...
//	PID/net -> ../.fakeproc/net/N   shared per-namespace tcp, tcp6, udp, udp6
//	PID/root -> ../.fakeproc/root/NAME   the process's root: NAME/etc/passwd
//	                           (a file, or a FIFO, a symlink or a sparse file)
//
// Written as root, every PID directory and its files are owned by the
// process's UID and GID, as procfs shows them (the task's effective ids);
// written by anyone else they are the writer's.
//
// Symlinks are written as symlinks with the kernel's targets, so readlink on
// the fake tree returns what it returns on a live system; the targets of
// exe and ns/net need not exist. The per-namespace socket tables are written
// once and linked from every process in the namespace, which keeps trees of
// 10,000 processes cheap to write.
//
// Generate builds a large realistic Tree for benchmarks. Load reads a small
// scenario written as YAML (see testdata/proc/).
//
// fakeproc does not model threads (task/), maps, or anything else the agent
// does not read.
package fakeproc
