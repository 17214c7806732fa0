//go:build !linux || !(amd64 || arm64)

package tcpevents

import (
	"context"
	"errors"
)

// Config sizes the tracker; see the Linux version.
type Config struct {
	// RingBufferBytes is the size of the kernel ring buffer; unused here.
	RingBufferBytes int
}

// ErrNotPermitted is returned by Open when the kernel refuses the BPF programs for lack of
// privilege; never here.
var ErrNotPermitted = errors.New("not permitted to load BPF programs (needs root, or CAP_BPF and CAP_PERFMON)")

// ErrBadRecord is wrapped by the error of a record that does not decode; never here.
var ErrBadRecord = errors.New("tcp event record does not decode")

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("tcp event tracker closed")

// errUnsupported is what Open returns on platforms the BPF program is not built for.
var errUnsupported = errors.New("tcp events need Linux on amd64 or arm64")

// Tracker is not available on this platform: Open always fails.
type Tracker struct{}

// Open fails: the BPF program is built for Linux on amd64 and arm64 only.
func Open(Config) (*Tracker, error) { return nil, errUnsupported }

// Read returns ErrClosed.
func (*Tracker) Read(context.Context) (Event, error) { return Event{}, ErrClosed }

// ReadInto returns ErrClosed.
func (*Tracker) ReadInto(context.Context, *Event) error { return ErrClosed }

// Lost returns 0.
func (*Tracker) Lost() uint64 { return 0 }

// Close does nothing.
func (*Tracker) Close() error { return nil }
