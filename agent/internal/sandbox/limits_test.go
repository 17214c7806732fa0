package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

// blockingWriter is a log sink that, on a line containing trigger, holds
// the guest (which is inside its proctag_v1.log call) until release
// returns true.
type blockingWriter struct {
	mu      sync.Mutex
	buf     strings.Builder
	trigger string
	release func() bool
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), w.trigger) {
		deadline := time.Now().Add(30 * time.Second)
		for !w.release() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestLateResultDiscarded: a call that finishes after its deadline without
// reaching a check (here it waits in a host function) has its result
// discarded as a timeout.
func TestLateResultDiscarded(t *testing.T) {
	// process: log(info, 1024, 4), then return the result at 1024.
	body := cat(i32c(int32(abi.LevelInfo)), i32c(1024), i32c(4), []byte{0x10, 0x00},
		i64c(int64(1024)<<32|int64(len(handResult))))
	m := handPlugin(0x00010000, body, handResult)
	m.imports = []wimport{{"proctag_v1", "log", wfunc{[]byte{tI32, tI32, tI32}, nil, nil}}}
	path := filepath.Join(t.TempDir(), "late.wasm")
	if err := os.WriteFile(path, m.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stopSet func() bool
	w := &blockingWriter{trigger: "plugin output", release: func() bool { return stopSet() }}
	logger := hclog.New(&hclog.LoggerOptions{Output: w})
	p, err := LoadFile(t.Context(), path, handSpec("late", func(p *Spec) { p.Timeout = 20 * time.Millisecond }), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(t.Context())
	in, err := p.pool.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stopSet = in.stop.hasFired
	_, err = in.call(t.Context(), "late", p.timeout, in.process, []byte{0x01, 0x01, 0x07}, maxOutputBytes)
	if faultKind(err) != FaultTimeout {
		t.Fatalf("late call = %v, want a timeout fault and no result", err)
	}
}
