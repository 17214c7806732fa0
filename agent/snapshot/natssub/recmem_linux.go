package natssub

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeMin is the smallest table mapped outside the Go heap.
const hugeMin = 4 << 20

// allocRecs returns a zeroed table of n records and the function that frees
// it. A table of hugeMin bytes or more is an anonymous mapping outside the
// Go heap, advised for transparent huge pages: a lookup's one random read
// into a table of hundreds of megabytes then costs one cache miss rather
// than a cache miss and a page walk, and the garbage collector neither
// scans it (records hold no pointers) nor counts it toward its next goal.
// Smaller tables, or when the mapping fails, are ordinary slices.
func allocRecs(n int) ([]connRec, func()) {
	size := n * int(unsafe.Sizeof(connRec{}))
	if size < hugeMin {
		return make([]connRec, n), func() {}
	}
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]connRec, n), func() {}
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE) // advice: without it, small pages
	return unsafe.Slice((*connRec)(unsafe.Pointer(unsafe.SliceData(mem))), n), func() { _ = unix.Munmap(mem) }
}
