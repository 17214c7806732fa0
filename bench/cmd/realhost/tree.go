package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// Targets of the generated host.
const (
	// treeScanTarget is the most proctag's cold scan of the generated
	// host may cost, as a share of the procfs baseline's CPU.
	treeScanTarget = 0.6
	// treeScanRSSTarget is the most its peak RSS may be.
	treeScanRSSTarget = 80 << 20
	// agentRSSTarget is the most the agent's peak RSS may be, on the
	// generated host and on the real one.
	agentRSSTarget = 64 << 20
	// treeSeed is the generated host's seed, as in the bench module.
	treeSeed = 1
)

// treeRows measures proctag on a generated host of h.opts.treeProcs
// processes and h.opts.treeSockets sockets written to a directory (the
// tree the bench module's benchmarks read): the cold scan against the
// procfs baseline and the minimal reader, and `proctag run` polling it at
// a 1 s interval for h.opts.treeWindow: its peak RSS and CPU per tick.
func (h *harness) treeRows(ctx context.Context) []report.Row {
	const label = ", generated tree"
	root := filepath.Join(h.dir, "tree")
	h.logf("writing a generated host of %d processes, %d sockets", h.opts.treeProcs, h.opts.treeSockets)
	if err := os.Mkdir(root, 0o755); err != nil {
		return []report.Row{report.ErrorRow("generated tree", err)}
	}
	// Written by a child: every child inherits this program's peak RSS in
	// its ru_maxrss (vfork shares the memory until exec), so this program
	// must never hold the tree.
	if _, _, err := h.measure(ctx, false, h.self, "-child-tree", root,
		fmt.Sprint("-child-tree-procs=", h.opts.treeProcs), fmt.Sprint("-child-tree-sockets=", h.opts.treeSockets)); err != nil {
		return []report.Row{report.ErrorRow("generated tree", err)}
	}
	unix.Sync() // its write-back must not run during the measurements
	rows := h.coldScan(ctx, root, label, scanTarget{cpu: treeScanTarget, peakRSS: treeScanRSSTarget})
	return append(rows, h.treeAgentRow(ctx, root))
}

// treeAgentRow runs the agent on the generated host for h.opts.treeWindow.
func (h *harness) treeAgentRow(ctx context.Context, root string) report.Row {
	const what = "agent peak RSS, generated tree, polling at 1 s"
	a, err := startAgent(ctx, h.g, h.opts.proctag, h.dir, "off", time.Second, 0, root)
	if err != nil {
		return report.ErrorRow(what, err)
	}
	defer a.stop()
	h.logf("agent on the generated tree for %v", h.opts.treeWindow)
	select {
	case <-ctx.Done():
		return report.ErrorRow(what, ctx.Err())
	case <-a.exited:
		return report.ErrorRow(what, a.exitError())
	case <-time.After(h.opts.treeWindow):
	}
	cpu, err := readCPU(a.pid)
	if err != nil {
		return report.ErrorRow(what, err)
	}
	hwm, err := report.ReadHWM(a.pid)
	if err != nil {
		return report.ErrorRow(what, err)
	}
	ticks := h.opts.treeWindow.Seconds()
	return report.Row{
		What: what, Value: report.MiB(hwm), Base: "-", Ratio: "-",
		Target: "≤ " + report.MiB(agentRSSTarget), Verdict: report.Check(hwm <= agentRSSTarget),
		Note: fmt.Sprintf("VmHWM after %v (default agent-memory-limit); CPU %.2f s, ≈ %.0f ms per tick", h.opts.treeWindow, cpu.Seconds(), 1000*cpu.Seconds()/ticks),
	}
}
