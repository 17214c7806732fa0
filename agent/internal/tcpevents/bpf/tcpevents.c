// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
//go:build ignore

// tcpevents reports TCP sockets that start listening, connect or are accepted, with the
// process that owns them, and their closes. Everything attaches to tracepoints through BTF
// (tp_btf): no tracefs, and no fentry/fexit or kprobes, which kernels with lockdown or
// without kprobes refuse.
//
// Ownership is decided in process context only:
//   - listen:  the CLOSE -> LISTEN transition runs inside listen();
//   - connect: the CLOSE -> SYN_SENT transition runs inside connect() (tcp_v4_connect,
//              tcp_v6_connect), so the caller is remembered by socket cookie and reported
//              when the same socket reaches ESTABLISHED, which is when its 4-tuple is final
//              (the source port is picked after SYN_SENT is set) and which usually runs in
//              softirq context, where the current task is unrelated;
//   - accept:  the passive side reaches ESTABLISHED in softirq context, before anyone
//              accepts it, so it is attributed when accept() or accept4() returns its file
//              descriptor (raw_syscalls sys_exit, which runs in the calling task), to the
//              task that called accept, whatever process created the listener.
// A close is the transition to TCP_CLOSE of a socket that had been listening or
// established; it may run in softirq context and so carries no pid.
//
// The kernel runs a tracing program at most once per CPU at a time: a transition on a CPU
// where this program is already running (interrupted, or preempted by a task that then
// changes a socket's state) is skipped and counted as a recursion miss. On a busy host
// that loses a few closes in a hundred (measured: up to 10 % of a test's client closes
// under load). So every close is also looked for in tcp_destroy_sock, a separate program
// that runs when the socket is freed, right after the close for an orphaned socket: a
// socket whose transition to TCP_CLOSE this program saw is remembered in `closing` and
// not reported twice.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char __license[] SEC("license") = "Dual MIT/GPL";

#define AF_INET 2
#define AF_INET6 10
#define TASK_COMM_LEN 16

// Event kinds; the Go side mirrors them as Kind.
#define KIND_LISTEN 1
#define KIND_CONNECT 2
#define KIND_ACCEPT 3
#define KIND_CLOSE 4

// struct event is one record in the ring buffer. Ports are in host byte order; addresses
// are in network byte order, IPv4 in the first four bytes.
struct event {
	__u64 cookie;
	__u64 boot_ns;
	__u32 netns;
	__u32 pid;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 kind;
	__u8 oldstate;
	__u8 comm[TASK_COMM_LEN];
};

// owner is who called connect() on a socket that is still in SYN_SENT.
struct owner {
	__u32 pid;
	__u8 comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); // bytes; the loader may change it
	__type(value, struct event);
} events SEC(".maps");

// lost counts events dropped because the ring buffer was full, per CPU.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// connecting maps the cookie of a socket in SYN_SENT to the task that called connect().
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct owner);
} connecting SEC(".maps");

// closing holds the cookies of sockets whose transition to TCP_CLOSE inet_sock_set_state
// saw, until tcp_destroy_sock frees them. An entry the LRU evicted (a closed socket whose
// descriptor stays open long) makes tcp_destroy_sock report the close again; the reader
// ignores a close of a cookie it no longer tracks.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} closing SEC(".maps");

// The syscall numbers of accept and accept4 on the running architecture, set by the loader
// (-1 when the architecture has no such call).
volatile const __s64 nr_accept = -1;
volatile const __s64 nr_accept4 = -1;

// The parts of struct pt_regs that hold the system call number, per architecture; CO-RE
// keeps the one the running kernel has.
struct pt_regs___x86 {
	unsigned long orig_ax;
} __attribute__((preserve_access_index));

struct pt_regs___arm64 {
	int syscallno;
} __attribute__((preserve_access_index));

// syscall_nr returns the number of the system call that regs belong to, -1 when this
// architecture is not known.
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	if (bpf_core_field_exists(((struct pt_regs___x86 *)0)->orig_ax))
		return BPF_CORE_READ((struct pt_regs___x86 *)regs, orig_ax);
	if (bpf_core_field_exists(((struct pt_regs___arm64 *)0)->syscallno))
		return BPF_CORE_READ((struct pt_regs___arm64 *)regs, syscallno);
	return -1;
}

static __always_inline bool is_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return false;
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP;
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

// emit reports sk with the given kind and owner (pid 0 and an empty comm for none).
static __always_inline void emit(struct sock *sk, __u64 cookie, __u8 kind, __u8 oldstate,
				 __u32 pid, const __u8 *comm)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->cookie = cookie;
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	e->pid = pid;
	e->kind = kind;
	e->oldstate = oldstate;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	// inet_sport outlives skc_num, which unhashing clears before the close transition.
	e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (!e->sport)
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET) {
		__be32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->saddr, &s, 4);
		__builtin_memcpy(e->daddr, &d, 4);
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	if (comm)
		__builtin_memcpy(e->comm, comm, TASK_COMM_LEN);
	bpf_ringbuf_submit(e, 0);
}

// emit_current reports sk as owned by the current task.
static __always_inline void emit_current(struct sock *sk, __u64 cookie, __u8 kind)
{
	__u8 comm[TASK_COMM_LEN] = {};
	bpf_get_current_comm(comm, sizeof(comm));
	emit(sk, cookie, kind, 0, bpf_get_current_pid_tgid() >> 32, comm);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	if (!is_tcp(sk))
		return 0;

	if (newstate == TCP_LISTEN) {
		// Inside listen().
		emit_current(sk, bpf_get_socket_cookie(sk), KIND_LISTEN);
		return 0;
	}
	if (newstate == TCP_SYN_RECV || (newstate == TCP_ESTABLISHED && oldstate != TCP_SYN_SENT)) {
		// A passive socket: give it its cookie now (a cloned socket starts without one),
		// so that sys_exit of accept, which can only read it, finds it set.
		bpf_get_socket_cookie(sk);
		return 0;
	}
	if (newstate == TCP_SYN_SENT) {
		// Inside connect(): remember the caller until the 4-tuple is known.
		__u64 cookie = bpf_get_socket_cookie(sk);
		struct owner o = {.pid = bpf_get_current_pid_tgid() >> 32};
		bpf_get_current_comm(o.comm, sizeof(o.comm));
		bpf_map_update_elem(&connecting, &cookie, &o, BPF_ANY);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT) {
		__u64 cookie = bpf_get_socket_cookie(sk);
		struct owner *o = bpf_map_lookup_elem(&connecting, &cookie);
		if (newstate == TCP_ESTABLISHED) {
			if (o)
				emit(sk, cookie, KIND_CONNECT, oldstate, o->pid, o->comm);
			else
				emit(sk, cookie, KIND_CONNECT, oldstate, 0, 0);
		}
		bpf_map_delete_elem(&connecting, &cookie);
		return 0;
	}
	if (newstate == TCP_CLOSE && oldstate != TCP_CLOSE) {
		__u64 cookie = bpf_get_socket_cookie(sk);
		__u8 seen = 1;
		bpf_map_update_elem(&closing, &cookie, &seen, BPF_ANY);
		if (oldstate != TCP_SYN_RECV && oldstate != TCP_NEW_SYN_RECV)
			emit(sk, cookie, KIND_CLOSE, oldstate, 0, 0);
	}
	return 0;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tcp_destroy_sock, struct sock *sk)
{
	if (!is_tcp(sk))
		return 0;
	// Read, not assigned: a socket without a cookie was never reported.
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return 0;
	if (bpf_map_lookup_elem(&closing, &cookie)) {
		bpf_map_delete_elem(&closing, &cookie);
		return 0;
	}
	// inet_sock_set_state missed this socket's close (or it closed before Open).
	emit(sk, cookie, KIND_CLOSE, TCP_CLOSE, 0, 0);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	if (ret < 0)
		return 0;
	long nr = syscall_nr(regs);
	if (nr != nr_accept && nr != nr_accept4)
		return 0;

	// The new file descriptor: current->files->fdt->fd[ret]->private_data is its struct
	// socket. Another thread of the process could close or replace the descriptor before
	// this runs; the checks below drop what is no longer a TCP socket.
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (__u64)ret >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[ret]) || !f)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return 0;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || !is_tcp(sk))
		return 0;
	// Set when the socket reached SYN_RECV or ESTABLISHED while this program was loaded;
	// 0 for a socket that was already waiting in the accept queue before.
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	emit_current(sk, cookie, KIND_ACCEPT);
	return 0;
}
