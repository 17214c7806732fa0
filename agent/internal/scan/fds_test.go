package scan

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestKeptFDs checks the stat fds kept between scans: one per process,
// released when a process goes, when a failed scan rolls back, and on
// Close.
func TestKeptFDs(t *testing.T) {
	tree, dir := fakeHost(t)
	base := countFDs(t)
	s, err := New(Config{Root: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.c.fds.limit < 100 {
		t.Skipf("fd budget %d: RLIMIT_NOFILE too small to keep fds", s.c.fds.limit)
	}
	scan(t, s)
	if got := countFDs(t) - base; got != 10 || s.c.fds.open.Load() != 10 {
		t.Fatalf("%d fds kept (budget says %d), want one per process (10)", got, s.c.fds.open.Load())
	}
	if err := tree.Remove(dir, 813); err != nil {
		t.Fatal(err)
	}
	rewrite(t, tree, dir, 812, func(p *fakeproc.Proc) { p.StartTicks++ })
	scan(t, s)
	if got := countFDs(t) - base; got != 9 || s.c.fds.open.Load() != 9 {
		t.Errorf("after an exit and a pid reuse: %d fds kept, want 9", got)
	}
	if err := tree.Rewrite(dir, fakeproc.Proc{PID: 5000, Comm: "n", StartTicks: 1, Argv: []string{"n"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Scan(ctx); err == nil {
		t.Fatal("cancelled scan succeeded")
	}
	if got := countFDs(t) - base; got != 9 {
		t.Errorf("after a failed scan: %d fds kept, want 9", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := countFDs(t) - base; got != 0 || s.c.fds.open.Load() != 0 {
		t.Errorf("after Close: %d fds still open", got)
	}
	if res := scan(t, s); len(res.Added) != 10 {
		t.Errorf("scan after Close added %d, want a cold scan of 10", len(res.Added))
	}
	_ = s.Close()
}

// TestDroppedScannerReleasesFDs: a Scanner dropped without Close (say, a
// pipeline replaced on config reload) gives its fds back once collected.
func TestDroppedScannerReleasesFDs(t *testing.T) {
	_, dir := fakeHost(t)
	base := countFDs(t)
	func() {
		s, err := New(Config{Root: dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.c.fds.limit < 100 {
			t.Skip("RLIMIT_NOFILE too small to keep fds")
		}
		if _, err := s.Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
	}()
	if countFDs(t) == base {
		t.Fatal("no fds were kept")
	}
	deadline := time.Now().Add(20 * time.Second)
	for countFDs(t) != base {
		if time.Now().After(deadline) {
			t.Fatalf("%d fds still open after the Scanner was dropped", countFDs(t)-base)
		}
		runtime.GC()
	}
}
