package fakeproc

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	const procs, socks = 3000, 20000
	tree := Generate(procs, socks, 7)
	if !reflect.DeepEqual(tree, Generate(procs, socks, 7)) {
		t.Fatal("Generate is not deterministic for a seed")
	}
	if len(tree.Procs) != procs {
		t.Fatalf("%d procs, want %d", len(tree.Procs), procs)
	}
	byPID := make(map[int]*Proc, procs)
	kthreads, mapped, raw := 0, 0, 0
	lastPID, lastTicks := 0, uint64(0)
	for i := range tree.Procs {
		p := &tree.Procs[i]
		if p.PID <= lastPID || p.StartTicks < lastTicks {
			t.Fatalf("pid %d / ticks %d do not ascend", p.PID, p.StartTicks)
		}
		lastPID, lastTicks = p.PID, p.StartTicks
		byPID[p.PID] = p
		if p.Argv == nil && p.RawCmdline == "" {
			kthreads++
		}
		if p.RawCmdline != "" {
			raw++
		}
		// A container's processes are in its root, the host's in HostRoot.
		if _, ok := tree.Roots[p.Root]; (p.NetNS == HostNetNS) != (p.Root == "") || p.Root != "" && !ok {
			t.Fatalf("pid %d in netns %d has root %q", p.PID, p.NetNS, p.Root)
		}
	}
	if len(tree.Roots) != 1+procs/1000 {
		t.Errorf("%d roots, want the host's and one per container", len(tree.Roots))
	}
	if kthreads < procs/40 || raw == 0 {
		t.Errorf("%d kernel threads, %d rewritten argvs: not a realistic mix", kthreads, raw)
	}
	depth := 0
	for i := range tree.Procs {
		d := 0
		for p := &tree.Procs[i]; p.PPID != 0; p = byPID[p.PPID] {
			if byPID[p.PPID] == nil {
				t.Fatalf("pid %d has missing parent %d", p.PID, p.PPID)
			}
			d++
		}
		depth = max(depth, d)
	}
	if depth < 4 {
		t.Errorf("deepest parent chain is %d, want deep chains", depth)
	}
	owned := make(map[string]int)
	for _, p := range tree.Procs {
		for _, fd := range p.FDs {
			if strings.HasPrefix(fd.Target, "socket:[") {
				owned[fd.Target]++
			}
		}
	}
	rows := 0
	for ns, tabs := range tree.NetNS {
		for _, tab := range [][]SockEntry{tabs.TCP, tabs.TCP6, tabs.UDP, tabs.UDP6} {
			rows += len(tab)
			for _, e := range tab {
				if owned["socket:["+strconv.FormatUint(e.Inode, 10)+"]"] == 0 {
					t.Fatalf("netns %d inode %d has no owner", ns, e.Inode)
				}
			}
		}
		for _, e := range tabs.TCP6 {
			if e.Local.Addr().Is4In6() {
				mapped++
			}
		}
	}
	if rows != socks || mapped == 0 || len(tree.NetNS) < 3 {
		t.Errorf("%d socket rows (want %d), %d v4-mapped, %d netns", rows, socks, mapped, len(tree.NetNS))
	}
}

func BenchmarkWriteGenerated(b *testing.B) {
	tree := Generate(1000, 10000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := tree.Write(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
