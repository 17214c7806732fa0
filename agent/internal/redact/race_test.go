//go:build race

package redact

// raceEnabled: the race detector makes sync.Pool drop items, so regexp
// allocates its matchers; allocation counts are checked without it.
const raceEnabled = true
