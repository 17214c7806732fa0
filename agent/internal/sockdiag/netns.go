package sockdiag

import "github.com/proctag/proctag/agent/internal/osthread"

// OpenNetNS opens a Conn in the network namespace that ns (an open
// /proc/PID/ns/net) refers to. The netlink socket is created inside the
// namespace once and stays bound to it, so the caller keeps the Conn for
// all later dumps of that namespace and uses it from any thread; no
// thread of the caller changes namespace.
//
// The socket is created on a new goroutine locked to its OS thread, which
// enters the namespace (setns), creates the socket and returns to the
// thread's namespace. When that return fails the goroutine ends without
// unlocking, so the runtime ends the thread rather than reuse it in the
// wrong namespace. setns needs CAP_SYS_ADMIN in the user namespaces that
// own the target namespace and the caller's (root, in practice); without
// it OpenNetNS returns EPERM and the caller falls back to reading
// /proc/PID/net.
func OpenNetNS(ns int) (*Conn, error) { return osthread.OpenInNetNS(ns, Open) }
