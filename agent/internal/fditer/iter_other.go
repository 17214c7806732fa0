//go:build !linux

package fditer

import "errors"

// ErrNotPermitted is returned by Open when the kernel refuses the BPF
// program for lack of privilege; never here.
var ErrNotPermitted = errors.New("not permitted to load BPF programs (needs root, or CAP_BPF and CAP_PERFMON)")

// ErrOtherPIDs is returned by Open when the proc root's pids are not the
// kernel's; never here.
var ErrOtherPIDs = errors.New("the proc root's pids are not the kernel's global pids")

// Iter is not available on this platform: Open always fails.
type Iter struct{}

// Open fails: task_file iterators are Linux's.
func Open(root string) (*Iter, error) { return nil, errors.New("fd iterator needs Linux") }

// Dump does nothing.
func (it *Iter) Dump(fn func(pid int, startTicks, inode uint64)) error {
	return errors.New("fd iterator needs Linux")
}

// Close does nothing.
func (it *Iter) Close() error { return nil }
