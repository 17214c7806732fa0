//go:build amd64 || arm64 || riscv64 || ppc64 || ppc64le || s390x || mips64 || mips64le || loong64

package scan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// fstatat stats the NUL-terminated path relative to dirfd without
// allocating; flags 0 follows a final symlink.
func fstatat(dirfd int, path []byte, st *unix.Stat_t, flags int) error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}
