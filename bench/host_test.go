package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// Size of the generated host (issue 3, "Speed").
const (
	hostProcs   = 10000
	hostSockets = 100000
	hostSeed    = 1
)

var host struct {
	once sync.Once
	dir  string
	err  error
}

// hostDir returns the root of the generated host, writing it on first use.
// TestMain removes it. The generated tree is not kept: the benchmarks read
// the files, and the garbage collector would mark its pointers during
// every one of them.
func hostDir(b *testing.B) string {
	b.Helper()
	host.once.Do(func() {
		host.dir, host.err = os.MkdirTemp("", "proctag-bench-")
		if host.err == nil {
			host.err = fakeproc.Generate(hostProcs, hostSockets, hostSeed).Write(host.dir)
		}
		// Flush the new tree's dirty pages now, or their write-back runs
		// during (and slows) whichever benchmark comes first.
		unix.Sync()
	})
	if host.err != nil {
		b.Fatalf("generate host: %v", host.err)
	}
	return host.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if host.dir != "" {
		if err := os.RemoveAll(host.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}
