package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// buildInfoPkg is where `make build` stamps the version (-X).
const buildInfoPkg = "github.com/proctag/proctag/agent/internal/buildinfo"

// sharedDir is a temporary directory every user may enter and read, for
// what an agent started as another user must reach (t.TempDir's are
// 0700). It is removed when the test ends.
func sharedDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "proctag-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// buildAgent builds this command as `make build` does, with ldflags
// stamping version, commit and date, into a directory every user can read,
// and returns the binary's path.
func buildAgent(t *testing.T, version, commit, date string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(sharedDir(t), "proctag")
	ldflags := "-X " + buildInfoPkg + ".version=" + version +
		" -X " + buildInfoPkg + ".commit=" + commit +
		" -X " + buildInfoPkg + ".date=" + date
	cmd := exec.Command(gobin, "build", "-ldflags", ldflags, "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
