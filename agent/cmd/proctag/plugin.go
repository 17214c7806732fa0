package main

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/plugintest"
	"github.com/proctag/proctag/agent/internal/runner"
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
			logger := g.logger("warn")
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
				Path: args[0], Plugin: p, Root: root, PID: pid, Limit: limit, CacheDir: runner.WasmCacheDir(),
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
	cmd.AddCommand(test)
	return cmd
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
