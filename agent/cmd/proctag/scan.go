package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/render"
	"github.com/proctag/proctag/agent/internal/runner"
	"github.com/proctag/proctag/agent/snapshot"
)

// scanFlags are shared by scan and explain.
type scanFlags struct {
	config   string
	procRoot string
}

func (f *scanFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "config file (default: built-in defaults)")
	cmd.Flags().StringVar(&f.procRoot, "proc-root", "", "procfs root, overrides os-proc-root (e.g. a generated tree)")
}

// tick loads the config, builds the pipeline and runs one tick. The caller
// closes the returned Parts.
func (f *scanFlags) tick(cmd *cobra.Command, g *globals) (*runner.Parts, *snapshot.Snapshot, string, error) {
	logger := g.logger(oneShotLevel)
	cfg, err := runner.LoadConfig(f.config, logger)
	if err != nil {
		return nil, nil, "", err
	}
	if f.procRoot != "" {
		cfg.ProcRoot = f.procRoot
	}
	runner.NoticeUnseen(cfg.ProcRoot, logger)
	pt, err := runner.Build(cmd.Context(), cfg, logger, agentVersion(), "")
	if err != nil {
		return nil, nil, "", err
	}
	snap, _, err := pt.Pipeline.Tick(cmd.Context())
	if err != nil {
		pt.Close(cmd.Context())
		return nil, nil, "", err
	}
	return pt, snap, cfg.ProcRoot, nil
}

func newScanCmd(g *globals) *cobra.Command {
	var f scanFlags
	var format string
	var sources bool
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Run one tick and print the snapshot (ignores os-proc-sync-enabled)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sources {
				for _, s := range runner.ProbeSources(cmd.Context()) {
					fmt.Fprintln(cmd.OutOrStdout(), s)
				}
				return nil
			}
			if format != "json" && format != "table" {
				return fmt.Errorf("--format %q is not json or table", format)
			}
			pt, snap, _, err := f.tick(cmd, g)
			if err != nil {
				return err
			}
			defer pt.Close(cmd.Context())
			out := cmd.OutOrStdout()
			if format == "json" {
				return render.JSON(out, snap)
			}
			return render.Table(out, snap, terminalWidth())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&format, "format", "o", "json", "json or table")
	cmd.Flags().BoolVar(&sources, "sources", false, "print which event sources this host allows (sock_diag, process connector, eBPF: available or why not) and exit")
	return cmd
}

// terminalWidth is stdout's width when it is a terminal, else 0 (default).
func terminalWidth() int {
	ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

func newExplainCmd(g *globals) *cobra.Command {
	var f scanFlags
	var pid int
	var format string
	cmd := &cobra.Command{
		Use:   "explain --pid N",
		Short: "Show which rules and plugins decided a process's fate, and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q is not text or json", format)
			}
			pt, _, root, err := f.tick(cmd, g)
			if err != nil {
				return err
			}
			defer pt.Close(cmd.Context())
			x, ok := pt.Pipeline.Explanation(pid)
			if !ok {
				return fmt.Errorf("pid %d: no such process under %s", pid, root)
			}
			if format == "json" {
				return render.ExplanationJSON(cmd.OutOrStdout(), x)
			}
			return render.Explanation(cmd.OutOrStdout(), x)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVarP(&pid, "pid", "p", 0, "process id to explain")
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	cmd.MarkFlagRequired("pid")
	return cmd
}
