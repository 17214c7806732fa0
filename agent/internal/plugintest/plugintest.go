package plugintest

import (
	"context"
	"errors"
	"fmt"
	"github.com/proctag/proctag/agent/internal/explain"
	"github.com/proctag/proctag/agent/internal/render"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/pipeline"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/sandbox"
	"github.com/proctag/proctag/agent/internal/scan"
)

// Options select the module, its grant and the processes.
type Options struct {
	// Path is the .wasm file.
	Path string
	// Plugin is the grant and limits (from a manifest, mapped by the
	// caller); a zero Name is taken from the file name.
	Plugin sandbox.Spec
	// Limits are the structural limits (plugin-limits) the module is
	// checked against.
	Limits sandbox.Limits
	// Root is the procfs tree to read processes from.
	Root string
	// PID limits the run to one process; 0 runs every process with argv.
	PID int
	// Limit caps how many processes are printed (all are timed); 0 = 50.
	Limit int
	// CacheDir is wazero's compilation cache; "" compiles from scratch.
	CacheDir string
}

// Summary is what a run measured.
type Summary struct {
	Calls, Changed, Violations, Faults, OutOfScope int
	Total, Max                                     time.Duration
	Times                                          []time.Duration
}

// Run loads the plugin, calls it once per selected process and writes the
// report to w. Like the agent, it gives the plugin and the report cmdlines
// with the built-in secret patterns masked.
func Run(ctx context.Context, w io.Writer, opt Options, logger hclog.Logger) (Summary, error) {
	var sum Summary
	p := opt.Plugin
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(opt.Path), ".wasm")
	}
	start := time.Now()
	opts := []sandbox.LoadOption{sandbox.WithLimits(opt.Limits)}
	if opt.CacheDir != "" {
		opts = append(opts, sandbox.WithCacheDir(opt.CacheDir))
	}
	pl, err := sandbox.LoadFile(ctx, opt.Path, p, logger, opts...)
	if err != nil {
		return sum, err
	}
	defer pl.Close(context.WithoutCancel(ctx))
	fmt.Fprintf(w, "plugin %s sha256 %s: loaded in %s (batch export: %v)\n\n", pl.Name(), pl.SHA256(), time.Since(start).Round(time.Millisecond), pl.HasBatch())

	sc, err := scan.New(scan.Config{Root: opt.Root}, logger)
	if err != nil {
		return sum, err
	}
	defer sc.Close()
	red, err := redact.Compile(nil, true)
	if err != nil {
		return sum, err
	}
	res, err := sc.Scan(ctx)
	if err != nil {
		return sum, fmt.Errorf("scan %s: %w", opt.Root, err)
	}
	limit := opt.Limit
	if limit <= 0 {
		limit = 50
	}
	found := false
	for _, sp := range res.Processes {
		if len(sp.Argv) == 0 || (opt.PID != 0 && sp.PID != opt.PID) {
			continue
		}
		found = true
		rec := pipeline.PluginRecord(sp, sp.ProcessName, nil, red)
		if slices.Contains(p.Fields, "env") {
			rec.Env, _ = scan.ReadEnviron(opt.Root, sp.PID)
		}
		out, d, err := pl.Call(ctx, rec)
		if errors.Is(err, sandbox.ErrOutOfScope) {
			sum.OutOfScope++
			continue
		}
		sum.Calls++
		sum.Total += d
		sum.Max = max(sum.Max, d)
		sum.Times = append(sum.Times, d)
		var v *sandbox.Violation
		switch {
		case errors.As(err, &v):
			sum.Violations++
		case err != nil:
			sum.Faults++
		case changed(out):
			sum.Changed++
		}
		if sum.Calls <= limit {
			writeCall(w, sp, red, out, d, err)
		}
	}
	if opt.PID != 0 && !found {
		return sum, fmt.Errorf("pid %d: no such process with a cmdline under %s", opt.PID, opt.Root)
	}
	writeSummary(w, &sum, limit)
	return sum, nil
}

func changed(r abi.Result) bool {
	return r.HasRename || r.Drop || len(r.SetTags) > 0 || len(r.RemoveTags) > 0
}

func writeCall(w io.Writer, sp *scan.Process, red *redact.Redactor, r abi.Result, d time.Duration, err error) {
	cmd := red.Cmdline(sp.Cmdline)
	if len(cmd) > 80 {
		cmd = cmd[:79] + "…"
	}
	fmt.Fprintf(w, "pid %d %s  [%s]  %s\n", sp.PID, sp.ProcessName, d.Round(100*time.Nanosecond), cmd)
	// The same words as explain's plugin effects (render.EffectChanges).
	fmt.Fprintf(w, "  -> %s\n", strings.TrimPrefix(render.EffectChanges(explain.FromResult("", r, nil)), ", "))
	if err != nil {
		fmt.Fprintf(w, "  !! %v (the agent would not apply this output)\n", err)
	}
}

func writeSummary(w io.Writer, s *Summary, limit int) {
	if s.Calls > limit {
		fmt.Fprintf(w, "... %d more calls not shown\n", s.Calls-limit)
	}
	fmt.Fprintf(w, "\n%d calls: %d changed, %d grant violations, %d faults; %d processes out of scope\n",
		s.Calls, s.Changed, s.Violations, s.Faults, s.OutOfScope)
	if s.Calls == 0 {
		return
	}
	t := slices.Clone(s.Times)
	slices.Sort(t)
	fmt.Fprintf(w, "call time: mean %s  p50 %s  p99 %s  max %s\n",
		(s.Total / time.Duration(s.Calls)).Round(100*time.Nanosecond),
		t[len(t)/2].Round(100*time.Nanosecond), t[len(t)*99/100].Round(100*time.Nanosecond), s.Max.Round(100*time.Nanosecond))
}
