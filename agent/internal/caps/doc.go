// Package caps reads the agent's Linux capabilities (capget(2)) and drops
// the ones a child must not inherit.
//
// It owns the mapping from capability numbers to names and the few
// capabilities proctag cares about: CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
// to read other users' /proc files and fd links (what package scan and
// package sockets read), CAP_SETUID and CAP_SETGID to start os-app-tag-exec
// as os-app-tag-exec-user (package tags). What the agent does without them
// belongs to those packages; the systemd unit that grants them is
// agent/deploy/systemd/proctag.service.
//
// Capabilities are per thread in Linux. Every thread of the agent has the
// same sets (the agent never changes them process-wide), except a thread
// on which DropInheritable ran: its caller locks it with
// runtime.LockOSThread and lets it end with the goroutine.
package caps
