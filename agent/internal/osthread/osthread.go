// Package osthread runs goroutines on OS threads whose namespaces they
// may change.
package osthread

import (
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// handovers counts the goroutines that Go started on the main thread and
// moved off it, for tests.
var handovers atomic.Int64

// Go runs fn on a new goroutine locked to an OS thread that is not the
// process's main thread. fn may enter another namespace on it (setns,
// unshare); it calls runtime.UnlockOSThread once it has restored the
// thread, or leaves it locked so that the thread ends with the goroutine.
//
// The main thread is kept out because its namespaces are the process's
// as /proc/PID shows them (/proc/PID/ns/net, /proc/PID/net/tcp): a main
// thread inside another network namespace, even for a moment, makes the
// process's own sockets look like that namespace's, and a locked main
// thread whose goroutine ends is not terminated but parked, in whatever
// namespace it was left.
func Go(fn func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			fn()
			return
		}
		// On the main thread: hold it until a new goroutine has locked
		// another thread (it cannot get this one), then let it go.
		handovers.Add(1)
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			fn()
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
}
