// Command proctag is the proctag agent and its tools: run, scan, check,
// explain, plugin test, watch, version. This package only parses flags and
// wires the packages under agent/internal together; it holds no logic of
// its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra without printing a
// second message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// globals are the flags every command takes.
type globals struct {
	logLevel string
	logJSON  bool
	// stderr is where the log goes: the root command's error writer
	// (os.Stderr unless a test set another).
	stderr func() io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "proctag:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "proctag",
		Short:         "Process and socket sync for Linux hosts, DeepFlow-compatible, with wasm tag plugins and NATS publishing",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints the same line as `proctag version`.
		Version: agentVersion(),
	}
	g.stderr = root.ErrOrStderr
	root.SetVersionTemplate(versionLine())
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "trace, debug, info, warn or error (default: for run the config's log-level, else info; for the one-shot commands warn)")
	root.PersistentFlags().BoolVar(&g.logJSON, "log-json", false, "log as JSON lines")
	root.AddCommand(
		newRunCmd(g),
		newScanCmd(g),
		newCheckCmd(g),
		newExplainCmd(g),
		newPluginCmd(g),
		newWatchCmd(g),
		newMapCmd(g),
		newVersionCmd(),
	)
	return root
}

// oneShotLevel is the default log level of the one-shot commands (scan,
// explain, check, plugin test and status, watch): their output is the
// answer, so the log adds only warnings and errors unless --log-level
// asks for more.
const oneShotLevel = "warn"

// logger is the one root logger; packages get Named children. --log-level
// wins over configLevel, which wins over info.
func (g *globals) logger(configLevel string) hclog.Logger {
	level := g.logLevel
	if level == "" {
		level = configLevel
	}
	if level == "" {
		level = "info"
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "proctag",
		Level:      hclog.LevelFromString(level),
		Output:     g.stderr(),
		JSONFormat: g.logJSON,
	})
}
