package main

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// FuzzProcFiles feeds the same bytes to the parsers of /proc/PID/stat,
// /proc/PID/status and /proc/stat: none may panic, and what they accept is
// never negative.
func FuzzProcFiles(f *testing.F) {
	f.Add([]byte("18162 (cat) R 18160 18160 11063 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 4517036")) // a stat line
	f.Add([]byte("1 ()) R 0 0 0 0 0 0 0 0 0 0 18446744073709551615 1 0"))                            // utime at the uint64 limit
	f.Add([]byte("Name:\tcat\nVmHWM:\t    1936 kB\n"))                                               // a status file
	f.Add([]byte("VmHWM:\t-5 kB\n"))                                                                 // a negative size
	f.Add([]byte("cpu  1 2 3\nprocesses 504607\n"))                                                  // /proc/stat
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseStatCPU(b); err == nil && d < 0 {
			t.Errorf("parseStatCPU(%q) = %v", b, d)
		}
		if n, err := report.ParseHWM(b); err == nil && n < 0 {
			t.Errorf("report.ParseHWM(%q) = %d", b, n)
		}
		_, _ = parseForks(b)
	})
}

// FuzzParseConnLine checks that parseConnLine never panics and that an
// accepted line never closes before it opened.
func FuzzParseConnLine(f *testing.F) {
	f.Add("conn 55434 1796280666879 1796280666900") // a client's line
	f.Add("done 2399 0")                            // its last line
	f.Add("conn 65536 1 2")                         // a port out of range
	f.Fuzz(func(t *testing.T, line string) {
		if c, ok := parseConnLine(line); ok && c.when.to < c.when.from {
			t.Errorf("parseConnLine(%q) = %+v", line, c)
		}
	})
}
