package bench

import (
	"testing"

	"github.com/proctag/proctag/agent/internal/bench/procfsnaive"
	"github.com/proctag/proctag/agent/internal/fakeproc"
)

// TestTickAgreesWithNaive checks on a small generated host that the
// benchmarks compare equal work: the tick and the naive baseline see the
// same processes and the same number of owned sockets.
func TestTickAgreesWithNaive(t *testing.T) {
	dir := t.TempDir()
	tree := fakeproc.Generate(300, 3000, 3)
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	tk, err := newTickConfig(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tk.scanner.Close()
	procs, socks, err := tk.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	nprocs, nsocks, err := procfsnaive.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if procs != len(tree.Procs) || nprocs != procs {
		t.Errorf("processes: tick %d, naive %d, tree %d", procs, nprocs, len(tree.Procs))
	}
	if socks < 2500 || nsocks != socks {
		t.Errorf("sockets: tick %d, naive %d (the tree has about 3000)", socks, nsocks)
	}
}
