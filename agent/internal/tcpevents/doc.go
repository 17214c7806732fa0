// Package tcpevents reports TCP sockets as they start listening, connect, are accepted and
// close, each with its 4-tuple, network namespace, socket cookie and owning process, from
// an eBPF program (bpf/tcpevents.c, loaded with cilium/ebpf).
//
// It owns the BPF objects, their attachment and the ring buffer decoding. It does not keep
// socket state: consumers join an open (Listen, Connect or Accept) with its Close by Cookie
// and decide what a missing half means; the periodic /proc poll reconciles whatever the
// events missed (Tracker.Lost says how many records the kernel dropped).
//
// Everything attaches without tracefs: a BTF tracepoint (tp_btf) on inet_sock_set_state
// and fexit programs on inet_csk_listen_start and inet_csk_accept. Loading needs root, or
// CAP_BPF with CAP_PERFMON, and a kernel with BTF (/sys/kernel/btf/vmlinux) and the
// two-argument inet_csk_accept of Linux 6.10 and later.
package tcpevents
