package runner

import (
	"bytes"
	"os"
	"strconv"
)

// selfRSS returns the agent's resident set size in bytes from
// /proc/self/statm (its second field, in pages), or 0 when it cannot be
// read. It is the heartbeat's rss_bytes; /metrics has the same figure as
// process_resident_memory_bytes.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil || pages < 0 {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
