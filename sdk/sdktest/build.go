package sdktest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the Go plugin in dir (a package main using the sdk) with
// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` into tb's temporary
// directory and returns the module's bytes. It fails tb when the build
// fails, showing the compiler's output.
func Build(tb testing.TB, dir string) []byte {
	tb.Helper()
	wasm, err := BuildTo(dir, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

// BuildTo is Build for callers without a testing.TB (TestMain, tools): it
// writes outDir/NAME.wasm, NAME being dir's base name, and returns the
// module's bytes.
func BuildTo(dir, outDir string) ([]byte, error) {
	out := filepath.Join(outDir, filepath.Base(dir)+".wasm")
	cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build plugin %s: %w\n%s", dir, err, stderr.Bytes())
	}
	return os.ReadFile(out)
}

// goTool is the go command: `go test` puts its own GOROOT/bin first on
// PATH, so this is the toolchain running the tests.
func goTool() string { return "go" }
