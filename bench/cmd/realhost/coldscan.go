package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/proctag/proctag/agent/internal/bench/report"
)

// coldScanTarget is the most proctag's cold scan may cost on the real host,
// as a share of the procfs baseline's CPU.
const coldScanTarget = 0.8

// scanConfig makes `proctag scan` report every process, however young
// (the holders may be younger than the default min-lifetime of 3 s).
const scanConfig = "os-proc-socket-min-lifetime: 0\n"

// scanTarget is what a cold scan of a host is held against: its CPU as a
// share of the procfs baseline's, and its peak RSS (0: no target).
type scanTarget struct {
	cpu     float64
	peakRSS int64
}

// coldScan runs `proctag scan --format json > /dev/null`, this program's
// naive procfs mode and its minimal reader h.opts.repeat times each, in
// turn, on the procfs tree root, and compares their median CPU and peak
// RSS. label names the host in the rows.
func (h *harness) coldScan(ctx context.Context, root, label string, target scanTarget) []report.Row {
	what := "cold scan CPU" + label + " (proctag / procfs)"
	cfg := filepath.Join(h.dir, "scan.yaml")
	if err := os.WriteFile(cfg, []byte(scanConfig), 0o644); err != nil {
		return []report.Row{report.ErrorRow(what, err)}
	}
	var pt, pf, pm []usage
	var counts, minCounts string
	for i := range h.opts.repeat {
		h.logf("cold scan %d/%d", i+1, h.opts.repeat)
		u, _, err := h.measure(ctx, true, h.opts.proctag, "scan", "--config", cfg, "--format", "json", "--proc-root", root)
		if err != nil {
			return []report.Row{report.ErrorRow(what, err)}
		}
		pt = append(pt, u)
		u, out, err := h.measure(ctx, false, h.self, "-child-procfs", "-child-root", root)
		if err != nil {
			return []report.Row{report.ErrorRow(what, err)}
		}
		pf = append(pf, u)
		counts = strings.TrimSpace(out)
		u, out, err = h.measure(ctx, false, h.self, "-child-minimal", "-child-root", root)
		if err != nil {
			return []report.Row{report.ErrorRow(what, err)}
		}
		pm = append(pm, u)
		minCounts = strings.TrimSpace(out)
	}
	cpus := func(us []usage) (ds []time.Duration) {
		for _, u := range us {
			ds = append(ds, u.cpu)
		}
		return ds
	}
	rss := func(us []usage) (ns []int64) {
		for _, u := range us {
			ns = append(ns, u.maxRSSBytes)
		}
		return ns
	}
	tc, fc, mc := report.Median(cpus(pt)), report.Median(cpus(pf)), report.Median(cpus(pm))
	tr, fr := report.Median(rss(pt)), report.Median(rss(pf))
	rssTarget, rssVerdict := "-", report.Info
	if target.peakRSS > 0 {
		rssTarget, rssVerdict = "proctag ≤ "+report.MiB(target.peakRSS), report.Check(tr <= target.peakRSS)
	}
	return []report.Row{{
		What: what, Value: report.Seconds(tc), Base: report.Seconds(fc), Ratio: report.Ratio(tc.Seconds(), fc.Seconds()),
		Target: fmt.Sprintf("≤ %.1f×", target.cpu), Verdict: report.Check(tc.Seconds() <= target.cpu*fc.Seconds()),
		Note: fmt.Sprintf("median of %d; runs: proctag %s, procfs %s; procfs saw %s", len(pt), list(cpus(pt)), list(cpus(pf)), counts),
	}, {
		What: "cold scan CPU" + label + " (proctag / minimal reader)", Value: report.Seconds(tc), Base: report.Seconds(mc), Ratio: report.Ratio(tc.Seconds(), mc.Seconds()),
		Target: "-", Verdict: report.Info,
		Note: fmt.Sprintf("median of %d; minimal reader runs %s, saw %s (raw syscalls, no parsing but the inode column: the floor)", len(pm), list(cpus(pm)), minCounts),
	}, {
		What: "cold scan peak RSS" + label + " (proctag / procfs)", Value: report.MiB(tr), Base: report.MiB(fr), Ratio: report.Ratio(float64(tr), float64(fr)),
		Target: rssTarget, Verdict: rssVerdict, Note: "ru_maxrss, median",
	}}
}

// measure runs name with args to completion under h.g and returns its
// rusage and its stdout, or sends its stdout to /dev/null when discard.
func (h *harness) measure(ctx context.Context, discard bool, name string, args ...string) (usage, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if discard {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return usage{}, "", err
		}
		defer null.Close()
		cmd.Stdout = null
	}
	if err := h.g.start(cmd); err != nil {
		return usage{}, "", err
	}
	err := cmd.Wait()
	h.g.done(cmd.Process.Pid)
	if err != nil {
		return usage{}, "", fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return usageOf(cmd.ProcessState), out.String(), nil
}

// list formats durations as "1.23 s, 1.30 s".
func list(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = report.Seconds(d)
	}
	return strings.Join(s, ", ")
}
