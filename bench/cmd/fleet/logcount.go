package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// logCounter is the publishers' log output: it counts their JSON log
// lines by message instead of printing a thousand of each, for the
// table's notes. It is safe for concurrent use.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Write counts one log line (hclog writes a line per call).
func (l *logCounter) Write(p []byte) (int, error) {
	var line struct {
		Level   string `json:"@level"`
		Message string `json:"@message"`
		Error   string `json:"error"`
	}
	key := strings.TrimSpace(string(p))
	if json.Unmarshal(p, &line) == nil {
		key = line.Level + ": " + line.Message
		if line.Error != "" {
			key += " (" + line.Error + ")"
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[key]++
	return len(p), nil
}

// String lists the messages counted, most frequent first.
func (l *logCounter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Collect(maps.Keys(l.counts))
	slices.SortFunc(keys, func(a, b string) int {
		if c := l.counts[b] - l.counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var s []string
	for _, k := range keys {
		s = append(s, fmt.Sprintf("%d× %s", l.counts[k], k))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}
