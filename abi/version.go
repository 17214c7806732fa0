package abi

// ImportModule is the name of the host's import module for ABI major 1. A
// guest imports its functions (only ImportLog in v1.0) from this module.
const ImportModule = "proctag_v1"

// Major and Minor are the ABI version this package implements. A host refuses
// a module whose major differs from Major and accepts any minor: a minor only
// adds optional record fields and optional result ops, which the other side
// skips when it does not know them.
const (
	Major = 1
	Minor = 0
)

// Version returns the version as a guest's proctag_abi_version export
// reports it: Major<<16 | Minor (v1.0 is 0x00010000).
func Version() uint32 { return Major<<16 | Minor }

// SplitVersion splits a value returned by proctag_abi_version into its major
// and minor parts; the host refuses the module when major != Major.
func SplitVersion(v uint32) (major, minor uint16) { return uint16(v >> 16), uint16(v) }

// Names of the functions a guest exports. ExportProcessBatch is optional; the
// others are required, and a host refuses a module that lacks one.
const (
	// ExportABIVersion is `() -> i32`, the value of Version.
	ExportABIVersion = "proctag_abi_version"
	// ExportAlloc is `(size i32) -> i32`: a guest-owned buffer of at least
	// size bytes, valid until the next call of any proctag_ export.
	ExportAlloc = "proctag_alloc"
	// ExportInit is `(ptr i32, len i32) -> i32`: the plugin's config bytes;
	// 0 is success, anything else means the plugin is not loaded.
	ExportInit = "proctag_init"
	// ExportProcess is `(ptr i32, len i32) -> i64`: one encoded Record in,
	// PackResult(out_ptr, out_len) or a negative return code out.
	ExportProcess = "proctag_process"
	// ExportProcessBatch is `(ptr i32, len i32) -> i64`: an encoded Batch
	// in, an encoded BatchResult out, packed like ExportProcess.
	ExportProcessBatch = "proctag_process_batch"
)

// ImportLog is `log(level i32, ptr i32, len i32)` in ImportModule: the guest
// hands the host a message in its own memory; the host copies it, truncates
// it to MaxLogBytes and rate-limits it.
const ImportLog = "log"

// MaxLogBytes is the longest log message the host keeps; longer messages are
// truncated, not rejected.
const MaxLogBytes = 1024

// Return codes of ExportProcess and ExportProcessBatch. Any other negative
// value is treated like CodeInternal.
const (
	// CodeBadInput means the guest could not decode its input.
	CodeBadInput int64 = -1
	// CodeInternal means the guest failed for a reason of its own.
	CodeInternal int64 = -2
)

// PackResult packs an output location as ExportProcess returns it:
// ptr<<32 | n. n == 0 means "unchanged" (ptr is then ignored).
func PackResult(ptr, n uint32) int64 { return int64(uint64(ptr)<<32 | uint64(n)) }

// UnpackResult splits a value returned by ExportProcess or
// ExportProcessBatch. A negative v is a return code (CodeBadInput,
// CodeInternal, ...): ok is false and ptr and n are zero.
func UnpackResult(v int64) (ptr, n uint32, ok bool) {
	if v < 0 {
		return 0, 0, false
	}
	return uint32(uint64(v) >> 32), uint32(v), true
}

// LogLevel is the level argument of the log import.
type LogLevel int32

// The log levels a guest may pass; the host treats other values as LevelInfo.
const (
	LevelError LogLevel = 1
	LevelWarn  LogLevel = 2
	LevelInfo  LogLevel = 3
	LevelDebug LogLevel = 4
)

// String returns the level's lower-case name ("error", "warn", "info",
// "debug"), or "info" for values outside the ABI, as the host treats them.
func (l LogLevel) String() string {
	switch l {
	case LevelError:
		return "error"
	case LevelWarn:
		return "warn"
	case LevelDebug:
		return "debug"
	default:
		return "info"
	}
}
