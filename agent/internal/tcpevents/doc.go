// Package tcpevents reports TCP sockets as they start listening, connect, are accepted and
// close, each with its 4-tuple, network namespace, socket cookie and owning process, from
// an eBPF program (bpf/tcpevents.c, loaded with cilium/ebpf).
//
// It owns the BPF objects, their attachment and the ring buffer decoding. It does not keep
// socket state: consumers join an open (Listen, Connect or Accept) with its Close by Cookie
// and decide what a missing half means; the periodic /proc poll reconciles whatever the
// events missed (Tracker.Lost says how many records the kernel dropped).
//
// Everything attaches to tracepoints through BTF (tp_btf), without tracefs: the
// inet_sock_set_state tracepoint for listen, connect and close, and raw_syscalls sys_exit
// to attribute accepted sockets to the caller of accept() and accept4() (fentry, fexit and
// kprobes are left alone: locked-down kernels refuse them). Loading needs root, or CAP_BPF
// with CAP_PERFMON, and a kernel with BTF (/sys/kernel/btf/vmlinux).
//
// The sys_exit program runs at the end of every system call on the host: about 40 ns each
// on the development machine (BenchmarkSyscall against BenchmarkSyscallBaseline), most of
// it the kernel's slower syscall exit path while a raw_syscalls tracepoint is in use.
// Accepts through io_uring are not seen; the poll finds those sockets.
package tcpevents
