package sandbox

import (
	"context"
	"errors"
	"github.com/proctag/proctag/agent/internal/sandbox/sandboxtest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

// The Go guest built by TestMain, and the compilation cache the tests
// share so that it compiles once (sandboxtest).
var (
	behaveWasm     string
	sharedCacheDir = sandboxtest.CacheDir
)

func TestMain(m *testing.M) {
	os.Exit(sandboxtest.Main(m, &behaveWasm, func(path string) error {
		ctx := context.Background()
		p, err := LoadFile(ctx, path, behave("warm"), hclog.NewNullLogger(), WithCacheDir(sharedCacheDir),
			WithLimits(Limits{CompileTimeout: time.Hour}))
		if err != nil {
			return err
		}
		return p.Close(ctx)
	}))
}

// syncBuffer is the log sink of testLogger.
type syncBuffer = sandboxtest.SyncBuffer

func testLogger(t *testing.T) (hclog.Logger, *syncBuffer) { return sandboxtest.Logger(t) }

// behave returns a grant for the behave guest with prefix "test.". The
// timeout is generous: the machine running the tests may be loaded, and
// only the timeout tests need a short one.
func behave(name string, mods ...func(*Spec)) Spec {
	p := Spec{
		Name: name, Path: behaveWasm, Config: []byte("prefix=test."),
		Capabilities: []string{"tag"}, TagPrefix: "test.",
		Timeout: 30 * time.Second, MemoryLimitBytes: 64 << 20, Instances: 2,
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// fakeClock is a settable clock for the breaker and the log limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testProc is a process as the tests hand it to a plugin.
type testProc struct {
	Record abi.Record
}

// proc builds a process with the given name (which picks the behave
// guest's behaviour) and pid.
func proc(pid int, name string) testProc {
	return testProc{
		Record: abi.Record{
			PID: pid, PPID: 1, StartTime: 1700000000000, Name: name, ProcessName: "proc",
			Argv: []string{"/usr/bin/proc", "--flag"}, Cmdline: "/usr/bin/proc --flag",
			Exe: "/usr/bin/proc", UID: 1000, User: "alice", Cgroup: "0::/user.slice",
		},
	}
}

// tagValue returns the value of key in tags, and whether it is there.
func tagValue(tags []abi.Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// faultKind returns the kind of a *Fault error, or -1.
func faultKind(err error) FaultKind {
	if f, ok := errors.AsType[*Fault](err); ok {
		return f.Kind
	}
	return -1
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
