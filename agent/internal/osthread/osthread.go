// Package osthread runs goroutines on OS threads whose namespaces they
// may change.
package osthread

import (
	"fmt"
	"io"
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

// InNetNS runs fn on a locked OS thread, not the main one (see Go), that
// has entered the network namespace ns (an open /proc/PID/ns/net), and
// returns its error once the thread is back in its own namespace. A socket
// fn creates stays in ns wherever it is used from later. When the return
// fails the thread is not reused: it ends with the goroutine.
func InNetNS(ns int, fn func() error) error {
	errc := make(chan error, 1)
	Go(func() {
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open /proc/thread-self/ns/net: %w", err)
			return
		}
		defer unix.Close(self)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		err = fn()
		if rerr := unix.Setns(self, unix.CLONE_NEWNET); rerr != nil {
			// The thread stays locked and dies with the goroutine.
			errc <- fmt.Errorf("return from network namespace: %w", rerr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	})
	return <-errc
}

// OpenInNetNS calls open on a thread inside the network namespace ns (see
// InNetNS) and returns what it opened, which stays bound to ns: a socket
// belongs to the namespace of its creation. When open worked but the thread
// could not return to its own namespace, the opened value is closed and the
// error returned.
func OpenInNetNS[T io.Closer](ns int, open func() (T, error)) (T, error) {
	var v T
	opened := false
	err := InNetNS(ns, func() (err error) {
		v, err = open()
		opened = err == nil
		return err
	})
	if err != nil && opened {
		v.Close()
		var zero T
		v = zero
	}
	return v, err
}
