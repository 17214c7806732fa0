package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/runner"
)

func newRunCmd(g *globals) *cobra.Command {
	var path, cpuProfile, heapProfile string
	cmd := &cobra.Command{
		Use:   "run --config F",
		Short: "Run the agent: scan every interval and publish the host's state on NATS",
		Long: `Run the agent: scan every os-proc-socket-sync-interval and publish the host's
state on NATS (an embedded server on 127.0.0.1:4222 unless nats.url is set).
SIGINT/SIGTERM drain and stop; SIGHUP reloads the config (a bad one is rejected
and the running config stays).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, warns, err := config.Load(path)
			if err != nil {
				return err
			}
			logger := g.logger(cfg.LogLevel)
			for _, w := range warns {
				logger.Warn("config", "warning", w.String())
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if heapProfile != "" {
				usr1 := make(chan os.Signal, 1)
				signal.Notify(usr1, syscall.SIGUSR1)
				done := make(chan struct{})
				go func() {
					for {
						select {
						case <-usr1:
							writeHeapProfile(heapProfile, logger.Error)
						case <-done:
							return
						}
					}
				}()
				defer func() {
					signal.Stop(usr1)
					close(done)
					writeHeapProfile(heapProfile, logger.Error)
				}()
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			err = runner.Run(cmd.Context(), cfg, runner.Options{
				Version: agentVersion(),
				Reload:  hup,
				Load: func() (*config.Config, error) {
					c, w, err := config.Load(path)
					for _, x := range w {
						logger.Warn("config", "warning", x.String())
					}
					return c, err
				},
			}, logger)
			if errors.Is(err, runner.ErrSyncDisabled) {
				fmt.Fprintf(cmd.ErrOrStderr(), "proctag: os-proc-sync-enabled is false in %s, so there is nothing to run.\n"+
					"Set `os-proc-sync-enabled: true` (top level or under static_config) to start syncing;\n"+
					"`proctag scan --config %s` shows what would be published regardless.\n", cfg.File, cfg.File)
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file")
	cmd.MarkFlagRequired("config")
	cmd.Flags().StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the whole run to this file when the agent stops (go tool pprof)")
	cmd.Flags().StringVar(&heapProfile, "heap-profile", "", "write a heap profile (live and allocated, after a collection) to this file on SIGUSR1 (the live heap of the running agent) and when the agent stops")
	return cmd
}

// startCPUProfile starts profiling the CPU into a new file at path and
// returns what stops it and closes the file.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeHeapProfile writes the heap profile, as of a collection run now, to
// path (through a temporary file renamed over it, so that a reader never
// sees half a profile), and reports a failure to logError.
func writeHeapProfile(path string, logError func(string, ...any)) {
	runtime.GC()
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		err = errors.Join(err, f.Close())
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}
	if err != nil {
		logError("heap profile not written", "path", path, "error", err)
	}
}
