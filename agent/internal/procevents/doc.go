// Package procevents reads process events (fork, exec, exit, comm, uid and
// gid changes, setsid, ptrace, coredump) from the kernel's netlink process
// connector and hands them to the caller in batches, so that the agent
// learns of a new or renamed process when it happens instead of at the
// next poll of /proc.
//
// It owns the NETLINK_CONNECTOR socket, the subscription (a
// PROC_CN_MCAST_LISTEN request to the CN_IDX_PROC group, and
// PROC_CN_MCAST_IGNORE on Close), the decoding of struct cn_msg and struct
// proc_event (include/uapi/linux/connector.h and cn_proc.h, decoded in
// parse.go), and the batching: a batch is sent at most Config.Window
// (default 1s) after its first event, or earlier once it holds
// Config.MaxBatch events. What to re-read for an event, and when a process
// is old enough to publish, belongs to the caller (package pipeline and
// package scan); events only say when and what to read.
//
// By default only events about processes are delivered: thread-group
// leaders, and forks that create a process rather than a thread (a child
// whose pid differs from its tgid is a thread). Pids are as seen from the
// initial pid namespace.
//
// # Privileges
//
// Linux 6.6 let any process subscribe (cn_bind in
// drivers/connector/connector.c admits the CN_IDX_PROC group without a
// capability), but not every later kernel does (a 6.18.44 build refuses
// it). Where the kernel refuses, binding to the group needs CAP_NET_ADMIN,
// and Open fails with an error matching os.ErrPermission. In every version the
// kernel only accepts subscriptions from the initial user and pid
// namespaces (cn_proc_mcast_ctl in drivers/connector/cn_proc.c): in a
// container with its own pid namespace Open fails with ErrUnavailable, as it
// does on a kernel without CONFIG_PROC_EVENTS. Either way the caller falls
// back to polling.
//
// # Loss
//
// The kernel never waits for a reader: when the socket's receive buffer
// (Config.ReadBufferBytes) is full, it drops the message for this socket
// and the next receive fails with ENOBUFS; it also drops messages it
// cannot allocate. The source turns both into a KindLost event in the
// stream (an overflow directly, a dropped message through a gap in the
// kernel's per-cpu sequence numbers) and sets Batch.Lost. A caller that
// sees it cannot trust its picture of the processes and reconciles with a
// full poll. A receiver slower than the events fills the buffer the same
// way: Events buffers Config.Queue batches, then the source stops reading.
// Stats counts events, losses, batches and dropped threads.
package procevents
