package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (proc_pid_stat(5)): 100 on every architecture Linux and Go share.
const clockTicks = 100

// parseStatCPU returns utime+stime (fields 14 and 15, clock ticks) of a
// /proc/PID/stat line (proc_pid_stat(5)). comm, field 2, may hold spaces
// and parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no ')' closing comm")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after comm, want at least 13", len(f))
	}
	const tick = time.Second / clockTicks
	var ticks uint64
	for _, s := range f[11:13] {
		// Each below half the ticks a Duration holds: no overflow.
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err == nil && n > math.MaxInt64/uint64(tick)/2 {
			err = fmt.Errorf("%d ticks is out of range", n)
		}
		if err != nil {
			return 0, fmt.Errorf("utime or stime: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * tick, nil
}

// readCPU returns the CPU time pid has used so far, from /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) { return report.ReadProc(pid, "stat", parseStatCPU) }

// usage is what one finished child process cost, from wait4's rusage.
type usage struct {
	// cpu is user plus system time.
	cpu time.Duration
	// maxRSSBytes is the peak resident set (ru_maxrss).
	maxRSSBytes int64
}

// usageOf reads the rusage of a waited-for process.
func usageOf(ps *os.ProcessState) usage {
	u := usage{cpu: ps.UserTime() + ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		u.maxRSSBytes = ru.Maxrss << 10 // KiB on Linux
	}
	return u
}

// parseForks returns the "processes" line of /proc/stat (proc_stat(5)):
// the forks (processes and threads created) since boot.
func parseForks(b []byte) (uint64, error) {
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("processes ")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("processes: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("no processes line")
}

// readForks returns the host's forks since boot, from /proc/stat.
func readForks() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	n, err := parseForks(b)
	if err != nil {
		return 0, fmt.Errorf("/proc/stat: %w", err)
	}
	return n, nil
}
