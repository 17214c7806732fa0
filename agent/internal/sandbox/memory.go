package sandbox

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// guestMemory backs one instance's linear memory with an anonymous
// mapping of the whole cap, reserved (MAP_NORESERVE) when the instance
// starts: growing is a longer slice of the same pages, never a copy, only
// the pages the guest touches cost memory, and closing the instance
// returns them to the kernel at once (munmap) rather than to Go's heap,
// where a recycled instance's memory would stay until a garbage
// collection and the scavenger gave it back. A grow past the cap is
// refused and remembered, so the fault can be named "memory".
//
// wazero calls Reallocate and Free only from the goroutine running the
// instance, or closing it.
type guestMemory struct {
	limit  uint64
	buf    []byte // the mapping, len = the reserved size
	mapped bool   // false: mmap failed, buf is Go memory grown by copying
	denied atomic.Bool
}

// Reallocate implements experimental.LinearMemory.
func (m *guestMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.denied.Store(true)
		return nil
	}
	if m.buf == nil {
		reserve := max(m.limit, pageBytes)
		b, err := unix.Mmap(-1, 0, int(reserve), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
		if err == nil {
			m.buf, m.mapped = b, true
		}
	}
	if !m.mapped && size > uint64(len(m.buf)) {
		// No address space for the reservation (a tight RLIMIT_AS): Go
		// memory, grown by copying, within the same cap.
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *guestMemory) Free() {
	if m.mapped {
		_ = unix.Munmap(m.buf)
	}
	m.buf, m.mapped = nil, false
}
