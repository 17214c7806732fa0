package report

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
)

// ParseHWM returns VmHWM, the peak resident set, of a /proc/PID/status
// file (proc_pid_status(5)) in bytes.
func ParseHWM(b []byte) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("VmHWM line %q is not \"<n> kB\"", bytes.TrimSpace(line))
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err == nil && kb > math.MaxInt64>>10 {
			err = fmt.Errorf("%d kB is out of range", kb)
		}
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return int64(kb) << 10, nil
	}
	return 0, errors.New("no VmHWM line")
}

// ReadHWM returns pid's peak resident set in bytes, from /proc/PID/status
// ("self" when pid is 0). Unlike wait4's or getrusage's ru_maxrss, it is
// the process's own: a child started by vfork counts in its ru_maxrss the
// resident set of the parent whose memory it shared until exec.
func ReadHWM(pid int) (int64, error) { return ReadProc(pid, "status", ParseHWM) }

// ReadProc reads /proc/PID/name (/proc/self/name when pid is 0) and
// returns what parse makes of it; a parse error names the file.
func ReadProc[T any](pid int, name string, parse func([]byte) (T, error)) (T, error) {
	path := "/proc/self/" + name
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/%s", pid, name)
	}
	var zero T
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
