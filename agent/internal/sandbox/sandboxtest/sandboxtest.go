// Package sandboxtest is what the tests of package sandbox and of the plugin
// step (package wasmhost) share: the Go test guest (sandbox's
// testdata/guests/behave), built once per test binary and compiled into a
// compilation cache shared between runs, a log sink safe for the host's
// goroutines, and the assembling of hand-written WebAssembly text (Wat).
// It imports neither package, so both (and the tests of the packages that
// use them) may use it.
package sandboxtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// CacheDir is the compilation cache the tests share. It outlives the run
// (wazero keys it by module hash and wazero version and writes it
// atomically), so only the first run on a machine pays for compiling the
// Go guest.
var CacheDir = filepath.Join(os.TempDir(), "proctag-wasmhost-test-cache")

// Main builds the test guest into a temporary directory, sets *guest to its
// path, calls warm with it (to compile it into CacheDir once, before the
// tests, without the compile-timeout: under -race on a loaded machine the
// compiler, itself instrumented, can take longer than the default 30 s for
// a Go guest, and a compilation stopped by its timeout is never cached),
// then runs the tests. It returns the exit code for os.Exit.
func Main(m *testing.M, guest *string, warm func(path string) error) int {
	dir, err := os.MkdirTemp("", "proctag-guest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*guest = filepath.Join(dir, "behave.wasm")
	if err := buildGuest(*guest); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := warm(*guest); err != nil {
		fmt.Fprintln(os.Stderr, "compile the test guest:", err)
		return 1
	}
	return m.Run()
}

// buildGuest builds sandbox/testdata/guests/behave as a wasip1 reactor.
func buildGuest(out string) error {
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "testdata", "guests", "behave")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build test guest: %w\n%s", err, b)
	}
	return nil
}

// SyncBuffer is a log sink safe for the host's goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a debug-level logger writing to a new SyncBuffer.
func Logger(t testing.TB) (hclog.Logger, *SyncBuffer) {
	t.Helper()
	buf := &SyncBuffer{}
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Debug}), buf
}

// Wat assembles WebAssembly text into the module file out with wat2wasm
// (Debian package wabt, which `make deps` installs).
func Wat(t testing.TB, text, out string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "m.wat")
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	WatFile(t, src, out)
}

// WatFile assembles the WebAssembly text file src into out with wat2wasm.
func WatFile(t testing.TB, src, out string) {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	if b, err := exec.Command("wat2wasm", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
	}
}
