package runner

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/proctag/proctag/agent/internal/config"
)

// Check reads the config at path and assembles it as Build would, without
// running anything, to report every problem in one go: the config's
// errors (its valid rest is still assembled), the rules DeepFlow would
// skip, the tag command, the redaction patterns, every plugin that does
// not load or whose init fails, and the proc root. Warnings are the
// config's, the rules' DeepFlow traps and a switched-off sync.
func Check(ctx context.Context, path string) *Report {
	rep := &Report{}
	cfg, warns, err := config.LoadPartial(path)
	for _, w := range warns {
		rep.Warnings = append(rep.Warnings, w.String())
	}
	for _, e := range splitErrors(err) {
		rep.add(PartConfig, true, e)
	}
	if cfg == nil {
		return rep
	}
	// Check reports what the steps would log, so they log nothing here.
	pt, built := Assemble(ctx, cfg, hclog.NewNullLogger(), "", "")
	if pt != nil {
		pt.Close(ctx)
	}
	rep.Problems = append(rep.Problems, built.Problems...)
	rep.Warnings = append(rep.Warnings, built.Warnings...)
	rep.Plugins = built.Plugins
	if !cfg.ProcSyncEnabled {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: os-proc-sync-enabled is false: `proctag run` will exit at once (scan ignores it)", cfg.File))
	}
	return rep
}

// splitErrors undoes errors.Join, so that each problem is one Problem.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}
