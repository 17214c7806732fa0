// Package sockets finds the TCP and UDP sockets (IPv4 and IPv6) that the
// reported processes hold, per network namespace, and decides each socket's
// role (server or client).
//
// It owns three things:
//
//   - parsing the kernel's socket tables /proc/PID/net/{tcp,tcp6,udp,udp6}
//     (format: Documentation/networking/proc_net_tcp.rst, printed by
//     net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, net/ipv4/udp.c and
//     net/ipv6/datagram.c), read once per network namespace through one of
//     its owners, falling back to another owner when that one vanished;
//   - the map from socket inode to owner pids, built by walking
//     /proc/PID/fd (links `socket:[N]`). It is cached per process
//     identity (pid, start ticks): a tick walks only processes it has not
//     seen, a full tick walks every process again. When a socket appears
//     in a table with no known holder, the tick also walks again the
//     owners that hold a listener on its port (an accepted connection), or
//     else those of its namespace with its uid (the uid column): those
//     that lost a socket since their last walk first, then the least
//     recently walked, at most 256 a tick, until each was walked once
//     since the socket appeared. With UseFDs, a Collect that walks every
//     owner (the first, each full one) or has 64 walks or more to do takes
//     them from one dump of every process's socket descriptors (package fditer, a BPF iterator)
//     instead of a readlinkat per descriptor: an owner gets the sockets
//     the dump gives its pid with its start time, and one the dump does
//     not list is checked for existence (gone, it is dropped as a walk
//     would drop it);
//   - the first-seen time of each socket, for os-proc-socket-min-lifetime.
//
// # Table sources
//
// With Config.SockDiag on a procfs mount the tables of a namespace are
// dumped over sock_diag netlink (package sockdiag), which costs about half
// the CPU of the /proc/net text and skips the states that are not
// reported in the kernel. The Collector keeps one Conn per namespace,
// opened on the namespace's first Collect: in the agent's own namespace
// directly, in another through ROOT/PID/ns/net of the first of its owners
// whose ns/net still is that namespace (entering it needs CAP_SYS_ADMIN).
// When the open or a dump fails, the Conn is closed, the first failure is
// logged as a warning (later ones at debug level), and that namespace's
// tables are read from /proc/PID/net until the next full Collect, which
// tries again. Owners whose NetNS is 0 are always read from /proc/PID/net.
// A namespace with no owner in a Collect has its Conn closed, since a
// netlink socket keeps its namespace alive. Both sources give the same
// rows, so the report does not depend on which one was used.
//
// Which processes are reported, and their identity and namespace, is
// decided by the scan and rules packages; Collect receives them as Owners.
// Turning a Socket into the published snapshot.Socket is the caller's job.
//
// # Decisions
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) in tcp6/udp6 is reported as
// the IPv4 address a.b.c.d, with the proto kept as tcp6/udp6 (the table the
// socket came from, that is the socket's family). So both ends of a
// connection between an IPv4 client and a dual-stack server show the same
// addresses.
//
// A listener is a TCP socket in LISTEN, or a UDP socket that is bound (local
// port not 0) and not connected (state CLOSE). A socket is a server when it
// is a listener, or when a listener of the same transport in the same
// network namespace, on the same local port, covering its local address,
// shares at least one owner pid with it (so a connection accepted by one
// worker of a pre-forked server whose listener all workers hold is a
// server, as in DeepFlow, which decides per pid). A listener on 0.0.0.0
// covers every IPv4 address; one on :: covers every address, IPv4 too
// (dual-stack; an IPV6_V6ONLY listener is not visible in /proc and is
// treated the same). Everything else is a client.
//
// Only TCP sockets in LISTEN or ESTABLISHED and UDP sockets that are bound
// and unconnected (CLOSE) or connected (ESTABLISHED) are reported.
//
// Owners whose NetNS is 0 (ns/net unreadable: pid 1 of a sandbox, a
// process of another user namespace, another user's process without
// CAP_SYS_PTRACE) are placed by the inode of their /proc/PID/net/tcp, which
// procfs shares among all the processes of one network namespace and no
// other (on Linux 6.18 as before; /proc/PID/net itself is a directory per
// process and tells nothing). Such an owner joins the namespace whose
// tables, read through a readable owner in the same Collect, had that
// inode, so every namespace's tables are read once per Collect. Owners of a
// namespace that no readable owner is in form one group per inode and
// their sockets are reported with NetNS 0; an owner whose net/tcp cannot
// be stat'ed either is a group of its own. Two namespaces are never merged.
// The inode of an owner's net/tcp is kept per process identity and stat'ed
// again on a full Collect, as the fd/ walks are. A socket that the tables
// of a known namespace also hold is reported under that namespace.
//
// # Work
//
// A Collect runs on up to GOMAXPROCS goroutines: the socket tables and the
// fd/ walks are read together, then each namespace's TCP and UDP rows are
// joined with their owners, given roles and sorted separately (the
// snapshot order puts a namespace's TCP sockets before its UDP ones), and
// the Sockets are filled in.
//
// A Collect returns the last Collect's Sockets, the same slice, when
// nothing they depend on changed: every group read the same rows (a keyed
// hash of each table's rows, in order), no socket gained or lost a holder
// (on a full Collect, after walking every owner again), the last Collect
// held no socket back for min-lifetime and the clock did not go back. The
// join, roles, order and report are then skipped, and a caller can tell by
// the slice that nothing changed.
//
// When something changed, the same holds part by part: a namespace's TCP
// or UDP sockets whose tables read the same rows, all reported last time,
// none of them new or with holders changed since (a mark on each socket
// that a holder change clears), are copied from the last report instead of
// being given roles, sorted and converted again. Where a few connections
// change, a Collect costs the reads, the join and the namespaces and
// transports they touched, not the whole host.
//
// A Collect whose caller vouched that no TCP socket of the host changed
// state since the last Collect that read the TCP tables (TCPUnchanged,
// from eBPF TCP events that lost nothing) does not read them again: each
// namespace whose last read of tcp and tcp6 was whole keeps those rows,
// and only its UDP tables are read. A full Collect reads everything.
//
// Reading the tables from /proc/PID/net, the parse is skipped too where the
// bytes did not change: each namespace's table keeps its rows from one
// Collect to the next, with a keyed hash of each 64 KiB chunk the last read
// went through, and a chunk that hashes the same, after as many lines and
// rows, keeps its rows (see tableMemo). A quiet host's steady Collect costs
// the reads and a hash of their bytes.
//
// # First-seen time
//
// A socket is reported once now minus its first-seen time is at least
// Config.MinLifetime. On the Collector's first Collect the first-seen time
// of a socket is the start time of its oldest owner: nothing better is known,
// and this way a one-shot `proctag scan` shows the established sockets of
// long-running processes. A socket found by any later Collect gets that
// Collect's now. When the wall clock steps back before a socket's
// first-seen time, the first-seen time restarts at the new now.
package sockets
