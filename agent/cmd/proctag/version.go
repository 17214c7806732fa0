package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/buildinfo"
)

// agentVersion is the version put into snapshots (agent_version): the
// build's, from package buildinfo.
func agentVersion() string { return buildinfo.Read().Version }

// versionLine is what `proctag version` and `proctag --version` print.
func versionLine() string {
	i := buildinfo.Read()
	return fmt.Sprintf("proctag %s (commit %s, built %s, plugin ABI %s, %s, %s/%s)\n",
		i.Version, i.ShortCommit(), i.Date, abiVersion(), i.GoVersion, runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the proctag version, commit, build date, plugin ABI and Go versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}

func abiVersion() string { return fmt.Sprintf("%s v%d.%d", abi.ImportModule, abi.Major, abi.Minor) }
