package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/redact"
	"github.com/proctag/proctag/agent/internal/rules"
	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/internal/tags"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

func newCheckCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config F",
		Short: "Validate a config and its plugins; print every problem; exit 1 on errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			logger := g.logger(oneShotLevel)
			var errs, warns int
			report := func(kind string, msg string) {
				if kind == "error" {
					errs++
				} else {
					warns++
				}
				fmt.Fprintf(out, "%s: %s\n", kind, msg)
			}
			cfg, cwarns, err := config.Load(path)
			for _, w := range cwarns {
				report("warning", w.String())
			}
			if err != nil {
				for _, e := range splitErrors(err) {
					report("error", e.Error())
				}
				return summary(out, errs, warns)
			}
			set, ruleErrs := rules.Compile(cfg.Rules, os.LookupEnv)
			for _, e := range ruleErrs {
				report("error", e.Error()+" (DeepFlow skips this rule; so do run and scan)")
			}
			for _, w := range set.Lint() {
				report("warning", w.String())
			}
			if len(cfg.TagExec) > 0 {
				if _, err := tags.New(tags.Config{Command: cfg.TagExec, User: cfg.TagExecUser, Timeout: cfg.TagExecTimeout}, logger.Named("tags")); err != nil {
					report("error", fmt.Sprintf("%s: os-app-tag-exec: %v", cfg.File, err))
				}
			}
			if _, err := redact.Compile(cfg.CmdlineRedact, !cfg.CmdlineRedactSet); err != nil {
				report("error", fmt.Sprintf("%s: cmdline-redact: %v", cfg.File, err))
			}
			for _, p := range cfg.Plugins {
				if err := wasmhost.Check(cmd.Context(), p, wasmhost.WithCacheDir(runner.WasmCacheDir()), wasmhost.WithLimits(cfg.PluginLimits)); err != nil {
					report("error", fmt.Sprintf("%s:%d: plugins: %s: %v", p.File, p.Line, p.Name, err))
				} else {
					fmt.Fprintf(out, "plugin %s: ok\n", p.Name)
				}
			}
			if cfg.PluginDir != "" {
				checkPluginDir(cmd, cfg, hclog.NewNullLogger(), report) // check reports, so no log lines
			}
			if !cfg.ProcSyncEnabled {
				report("warning", fmt.Sprintf("%s: os-proc-sync-enabled is false: `proctag run` will exit at once (scan ignores it)", cfg.File))
			}
			return summary(out, errs, warns)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file to check")
	cmd.MarkFlagRequired("config")
	return cmd
}

// checkPluginDir loads plugin-dir the way the agent does and reports every
// module that does not load.
func checkPluginDir(cmd *cobra.Command, cfg *config.Config, logger hclog.Logger, report func(kind, msg string)) {
	h, err := wasmhost.New(cmd.Context(), wasmhost.Config{CacheDir: runner.WasmCacheDir(), PluginDir: cfg.PluginDir, Limits: cfg.PluginLimits}, logger)
	if err != nil {
		report("error", fmt.Sprintf("%s: plugin-dir: %v", cfg.File, err))
		return
	}
	defer h.Close(context.WithoutCancel(cmd.Context()))
	for _, ps := range h.Stats().Plugins {
		if ps.Loaded {
			fmt.Fprintf(cmd.OutOrStdout(), "plugin %s (plugin-dir): ok\n", ps.Name)
		} else {
			report("error", fmt.Sprintf("%s: plugin-dir %s: %s: %s", cfg.File, cfg.PluginDir, ps.Name, ps.LoadError))
		}
	}
}

// splitErrors undoes errors.Join so that each problem prints on its line.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func summary(out io.Writer, errs, warns int) error {
	fmt.Fprintf(out, "%d error(s), %d warning(s)\n", errs, warns)
	if errs > 0 {
		return exitError{code: 1}
	}
	return nil
}
