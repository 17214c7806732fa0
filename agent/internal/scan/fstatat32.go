//go:build !(amd64 || arm64 || riscv64 || ppc64 || ppc64le || s390x || mips64 || mips64le || loong64)

package scan

import "golang.org/x/sys/unix"

// fstatat stats the NUL-terminated path relative to dirfd; flags 0
// follows a final symlink. 32-bit kernels name the call fstatat64, which
// unix.Fstatat picks.
func fstatat(dirfd int, path []byte, st *unix.Stat_t, flags int) error {
	return unix.Fstatat(dirfd, string(path[:len(path)-1]), st, flags)
}
