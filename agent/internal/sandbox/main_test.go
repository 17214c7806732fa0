package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
)

// Paths of the Go guests built by TestMain, and the compilation cache the
// tests share so each module compiles once per run.
var (
	behaveWasm     string
	sharedCacheDir string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	behaveWasm = filepath.Join(dir, "behave.wasm")
	// The compilation cache outlives the run (wazero keys it by module
	// hash and wazero version and writes it atomically), so only the first
	// run on a machine pays for compiling the Go guest.
	sharedCacheDir = filepath.Join(os.TempDir(), "proctag-wasmhost-test-cache")
	if err := buildGuest(behaveWasm); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := warmCache(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// warmCache compiles the Go guest into the shared cache once, without the
// compile-timeout: under -race on a loaded machine the compiler, itself
// instrumented, can take longer than the default 30 s for a Go guest, and a
// compilation stopped by its timeout is never cached, so every test would
// start cold and fail. The compile-timeout itself is tested with bombs.
func warmCache() error {
	ctx := context.Background()
	p, err := LoadFile(ctx, behaveWasm, behave("warm"), hclog.NewNullLogger(), WithCacheDir(sharedCacheDir),
		WithLimits(Limits{CompileTimeout: time.Hour}))
	if err != nil {
		return fmt.Errorf("compile the test guest: %w", err)
	}
	return p.Close(ctx)
}

// buildGuest builds testdata/guests/behave as a wasip1 reactor.
func buildGuest(out string) error {
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./testdata/guests/behave")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build test guest: %w\n%s", err, b)
	}
	return nil
}

// syncBuffer is a log sink safe for the host's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) (hclog.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Debug}), buf
}

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
