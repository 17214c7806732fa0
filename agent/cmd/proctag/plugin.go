package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/plugintest"
	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Work with wasm tag plugins"}
	var manifest, root string
	var pid, limit int
	test := &cobra.Command{
		Use:   "test FILE.wasm",
		Short: "Run one plugin on live or recorded processes; print inputs, outputs, violations and timings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			logger := g.logger(oneShotLevel)
			var p config.Plugin
			if manifest != "" {
				data, err := os.ReadFile(manifest)
				if err != nil {
					return err
				}
				if p, err = config.ParsePluginManifest(data, manifest); err != nil {
					return err
				}
			} else {
				p = testGrant(strings.TrimSuffix(filepath.Base(args[0]), ".wasm"))
			}
			sum, err := plugintest.Run(cmd.Context(), cmd.OutOrStdout(), plugintest.Options{
				Path: args[0], Plugin: runner.SandboxSpec(p), Limits: runner.SandboxLimits(config.DefaultPluginLimits()),
				Root: root, PID: pid, Limit: limit, CacheDir: runner.WasmCacheDir(),
			}, logger)
			if err != nil {
				return err
			}
			if sum.Faults > 0 || sum.Violations > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	test.Flags().StringVarP(&manifest, "config", "c", "", "plugin manifest (NAME.yaml: capabilities, tag-prefix, fields, config, ...)")
	test.Flags().StringVar(&root, "proc-root", "/proc", "procfs tree to read processes from (live /proc or a recorded one)")
	test.Flags().IntVarP(&pid, "pid", "p", 0, "run on this process only")
	test.Flags().IntVar(&limit, "limit", 50, "print at most this many calls (all are timed)")
	cmd.AddCommand(test, newPluginStatusCmd(g))
	return cmd
}

// newPluginStatusCmd prints the tenants' status files, as the agent last
// wrote them into their plugin directories.
func newPluginStatusCmd(g *globals) *cobra.Command {
	var cfgPath, tenant string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each tenant's plugins as the running agent last reported them (loaded, faults, time per call)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := runner.LoadConfig(cfgPath, g.logger(oneShotLevel))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			found := false
			for _, t := range cfg.Tenants {
				if tenant != "" && t.Name != tenant {
					continue
				}
				found = true
				ds, err := wasmhost.ReadStatus(filepath.Join(t.PluginDir, wasmhost.StatusFile))
				if err != nil {
					fmt.Fprintf(out, "tenant %s (%s): no status yet: %v\n\n", t.Name, t.PluginDir, err)
					continue
				}
				printStatus(out, ds)
			}
			if !found {
				return fmt.Errorf("no tenant %q in %s", tenant, cfgPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "the agent's config file")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// printStatus prints one directory's status as a table.
func printStatus(w io.Writer, ds wasmhost.DirStatus) {
	fmt.Fprintf(w, "tenant %s (%s), updated %s\n", ds.Tenant, ds.Dir, ds.Updated.Format(time.RFC3339))
	if ds.Error != "" {
		fmt.Fprintf(w, "  directory not used: %s\n", ds.Error)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PLUGIN\tLOADED\tCALLS\tµs/CALL\tFAULTS\tBREAKER\tREASON")
	for _, p := range ds.Plugins {
		var faults []string
		for _, k := range slices.Sorted(maps.Keys(p.Faults)) {
			faults = append(faults, fmt.Sprintf("%s=%d", k, p.Faults[k]))
		}
		reason := p.Error
		if reason == "" {
			reason = p.LastFault
		}
		fmt.Fprintf(tw, "  %s\t%v\t%d\t%.1f\t%s\t%s\t%s\n", p.Name, p.Loaded, p.Calls, p.MicrosPerCall, strings.Join(faults, " "), p.Breaker, reason)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// testGrant is what a manifest-less test runs with: every capability, tag
// keys under "NAME." (as a drop-in without a manifest gets), every field but
// env, the default limits — so that the report shows all the plugin does.
func testGrant(name string) config.Plugin {
	return config.Plugin{
		TagPrefix:        name + ".",
		Capabilities:     []string{"rename", "tag", "drop"},
		Fields:           []string{"pid", "ppid", "start_time", "name", "process_name", "cmdline", "exe", "uid", "user", "container_id", "cgroup", "tags"},
		Timeout:          100 * time.Millisecond,
		MemoryLimitBytes: 64 << 20,
		Instances:        1,
	}
}
