// Package sockdiag reads the kernel's TCP and UDP sockets (IPv4 and IPv6)
// over sock_diag netlink (NETLINK_SOCK_DIAG, inet_diag_req_v2 requests
// and inet_diag_msg replies: include/uapi/linux/inet_diag.h,
// Documentation/networking and man 7 sock_diag), one network namespace
// per Conn, and reports the sockets the kernel frees through the
// sock_diag destroy multicast groups (Destroys). It owns the netlink
// sockets, the request encoding and the message parser; which sockets are
// reported and who owns them is the sockets package's business, for which
// a Socket carries the same fields, in the same form, as a row of
// /proc/net/{tcp,udp}{,6} (ports in host order, IPv4-mapped IPv6
// addresses unmapped, the uid and the inode).
//
// # Namespaces
//
// A netlink socket belongs to the network namespace it was created in,
// wherever it is used from. OpenNetNS and SubscribeNetNS create theirs
// inside the target namespace (setns on a new locked thread, which then
// returns to its own namespace, or dies if it cannot) and the caller
// keeps them: one Conn per namespace for all its dumps, no setns per
// dump, and no thread of the caller ever changes namespace.
//
// # Privileges
//
// Dumping needs no privilege: any user may dump the sockets of its
// namespace, as it may read /proc/net/tcp. Entering another namespace
// needs CAP_SYS_ADMIN over it (setns). Joining the destroy groups needs
// none on Linux 6.18 (the sock_diag kernel socket allows receivers
// without CAP_NET_ADMIN and sock_diag_bind checks nothing; the tests
// check this with every effective capability dropped); CAP_NET_ADMIN only
// lets Destroys raise its receive buffer past net.core.rmem_max
// (SO_RCVBUFFORCE), so without it a burst of closes is more likely to
// overrun the buffer (counted by Destroys.Lost).
//
// # Destroy events
//
// The kernel sends one message per freed socket of the namespace: for
// TCP after a passive close completes, when an active close enters
// TIME_WAIT, or on abort. The message holds the family, state, 4-tuple,
// cookie and protocol; the kernel leaves the uid and the inode 0 (the
// socket has no file any more). An event is tied to its owners through
// the cookie seen in an earlier dump, or, for a connection a server
// accepted, through the listener on its local address, which keeps
// short server-side connections attributed to the listener's owner.
//
// # Cost
//
// A dump asks for the states it wants (idiag_states) and the kernel
// skips the others before formatting anything; /proc/net/tcp formats
// every socket, TIME_WAIT and SYN_RECV included, as a 150-byte line of
// printf'ed hex and decimal, which the reader then scans. A dump's reply
// is a 72-byte binary struct and a few attributes per socket, parsed at
// fixed offsets without allocating. Both walk the kernel's whole TCP
// hash table, which all namespaces share unless
// net.ipv4.tcp_child_ehash_entries gives one its own, so either costs in
// proportion to the host's sockets. BenchmarkRealTCPTable in the sockets
// package measures the three readers (this one, the sockets package's
// /proc/net parser, prometheus/procfs) on 40,001 and 100,001 real
// sockets, where the dump took about half the CPU of the /proc/net
// text, and BenchmarkRealTCPTableTimeWait beside 30,000 TIME_WAIT
// sockets, where it took a third.
//
// # Fallback
//
// When a Conn cannot be opened for a namespace (no CAP_SYS_ADMIN to enter
// it, a kernel without inet_diag) or a dump fails, the caller reads
// /proc/PID/net of an owner in that namespace as before.
//
// # MPTCP
//
// Go's net.Listen makes MPTCP listeners by default (Go 1.24 and later).
// The TCP tables, here and in /proc/net/tcp alike, show such a
// listener's TCP subflow, whose cookie is not the SO_COOKIE of the
// listener's descriptor; the inode is the same.
package sockdiag
