package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/runner"
)

func newCheckCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check --config F",
		Short: "Validate a config and its plugins; print every problem; exit 1 on errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := runner.Check(cmd.Context(), path)
			return printReport(cmd.OutOrStdout(), rep)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file to check")
	cmd.MarkFlagRequired("config")
	return cmd
}

// printReport prints one line per problem, per warning and per plugin that
// loaded, then the counts; it returns exit status 1 when there are
// problems.
func printReport(out io.Writer, rep *runner.Report) error {
	for _, p := range rep.Problems {
		if c := p.Consequence(); c != "" {
			fmt.Fprintf(out, "error: %s (%s)\n", p, c)
		} else {
			fmt.Fprintf(out, "error: %s\n", p)
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	for _, p := range rep.Plugins {
		if p.Source != "" {
			fmt.Fprintf(out, "plugin %s (%s): ok\n", p.Name, p.Source)
		} else {
			fmt.Fprintf(out, "plugin %s: ok\n", p.Name)
		}
	}
	fmt.Fprintf(out, "%d error(s), %d warning(s)\n", len(rep.Problems), len(rep.Warnings))
	if len(rep.Problems) > 0 {
		return exitError{code: 1}
	}
	return nil
}
