package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"os/user"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/buildinfo"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/snapshot"
)

// TestVersionStamped builds the agent with the ldflags `make build` passes
// and checks that the stamped version, commit and date reach `proctag
// version`, `proctag --version` and the snapshot's agent_version.
func TestVersionStamped(t *testing.T) {
	const (
		version = "v9.8.7-3-gabcdef0-dirty"
		commit  = "abcdef0123456789abcdef0123456789abcdef01-dirty"
		date    = "2027-01-02T03:04:05Z"
	)
	bin := buildAgent(t, version, commit, date)
	want := "proctag v9.8.7-3-gabcdef0-dirty (commit abcdef012345-dirty, built 2027-01-02T03:04:05Z, plugin ABI " +
		abiVersion() + ", " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, args...).Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != want {
				t.Errorf("proctag %s printed\n%q, want\n%q", args[0], out, want)
			}
		})
	}
	t.Run("agent_version", func(t *testing.T) {
		tree := t.TempDir()
		if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", tree, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "scan", "--proc-root", tree).Output()
		if err != nil {
			t.Fatal(err)
		}
		var snap snapshot.Snapshot
		if err := json.Unmarshal(out, &snap); err != nil {
			t.Fatal(err)
		}
		if snap.Host.AgentVersion != version {
			t.Errorf("snapshot agent_version = %q, want %q", snap.Host.AgentVersion, version)
		}
	})
}

// TestVersionUnstamped checks the in-process CLI: without ldflags the
// version is the build info's.
func TestVersionUnstamped(t *testing.T) {
	out, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if want := "proctag " + buildinfo.Read().Version + " (commit "; !strings.HasPrefix(out, want) {
		t.Errorf("version printed %q, want it to start with %q", out, want)
	}
}

// TestOneShotLogsWarningsOnly runs the one-shot commands as a user would
// (the built binary, stderr captured): by default they log warnings and
// errors only; --log-level shows more.
func TestOneShotLogsWarningsOnly(t *testing.T) {
	bin := buildAgent(t, "v0.0.0-test", "", "")
	tree := t.TempDir()
	if _, err := fakeproc.WriteScenario("../../../testdata/proc/basic.yaml", tree, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// A tag command logs a debug line each run; running it as the current
	// user needs no capability, so nothing is worth a warning.
	cfg := writeFile(t, "oneshot.yaml", "os-app-tag-exec: [/bin/echo, '[]']\nos-app-tag-exec-user: "+me.Username+"\n")
	tests := []struct {
		name       string
		args       []string
		wantStderr string // "" means nothing at all
	}{
		{name: "scan", args: []string{"scan", "--config", cfg, "--proc-root", tree}},
		{name: "scan --log-level debug", args: []string{"scan", "--config", cfg, "--proc-root", tree, "--log-level", "debug"}, wantStderr: "tag exec done"},
		{name: "explain", args: []string{"explain", "--config", cfg, "--proc-root", tree, "--pid", "1"}},
		{name: "check", args: []string{"check", "--config", cfg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			got := stderr.String()
			if tt.wantStderr == "" && got != "" {
				t.Errorf("stderr = %q, want nothing", got)
			}
			if tt.wantStderr != "" && !strings.Contains(got, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", got, tt.wantStderr)
			}
			if strings.Contains(got, "nats") {
				t.Errorf("a one-shot command logged about NATS: %q", got)
			}
		})
	}
}
