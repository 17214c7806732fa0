package procid

// Key identifies a process across ticks: the kernel reuses pids, never the
// pair (PID, StartTicks). Keys compare with == and serve as map keys. The
// zero Key is no process.
type Key struct {
	// PID is the process id in the pid namespace of the procfs mount read.
	PID int
	// StartTicks is field 22 of /proc/PID/stat (starttime): the start of
	// the process in clock ticks after boot.
	StartTicks uint64
}
