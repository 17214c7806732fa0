package tcpevents

import "golang.org/x/sys/unix"

// The accept syscalls whose returned descriptor the BPF program attributes to the caller.
const (
	sysAccept  = unix.SYS_ACCEPT
	sysAccept4 = unix.SYS_ACCEPT4
)
