package hostile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What TestMain builds once for every test: the agent, the good plugin,
// the compiled testdata modules (modulesDir/NAME.wasm), the agent's
// compilation cache for this run and the agent's peak RSS with the good
// plugin alone.
var (
	agentBin    string
	goodWasm    string
	modulesDir  string
	cacheDir    string
	baselineRSS int64 // bytes
)

func TestMain(m *testing.M) {
	if os.Getenv(wrapAgentEnv) != "" {
		execAgent() // this process is agentCommand's wrapper
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 1
	}
	defer os.RemoveAll(filepath.Dir(agentBin))
	return m.Run()
}

func setup() error {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		return fmt.Errorf("wat2wasm is missing (Debian package wabt): run `make deps` at the top of the repository, or `apt-get install -y wabt`")
	}
	dir, err := os.MkdirTemp("", "proctag-hostile-")
	if err != nil {
		return err
	}
	agentBin = filepath.Join(dir, "proctag")
	goodWasm = filepath.Join(dir, "static-tags.wasm")
	modulesDir = filepath.Join(dir, "modules")
	cacheDir = filepath.Join(dir, "cache")
	if err := os.Mkdir(cacheDir, 0o755); err != nil {
		return err
	}
	if err := goBuild("../../cmd/proctag", agentBin, nil); err != nil {
		return err
	}
	if err := goBuild("../../../plugins/static-tags", goodWasm, []string{"GOOS=wasip1", "GOARCH=wasm"}, "-buildmode=c-shared"); err != nil {
		return err
	}
	if err := os.Mkdir(modulesDir, 0o755); err != nil {
		return err
	}
	wats, err := filepath.Glob("testdata/*.wat")
	if err != nil {
		return err
	}
	for _, w := range wats {
		name := strings.TrimSuffix(filepath.Base(w), ".wat")
		if err := wat2wasm(w, filepath.Join(modulesDir, name+".wasm")); err != nil {
			return err
		}
	}
	return measureBaseline()
}

// goBuild builds the package in dir to out with env added to the
// environment.
func goBuild(dir, out string, env []string, flags ...string) error {
	args := append([]string{"build"}, flags...)
	cmd := exec.Command("go", append(args, "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", dir, err, b)
	}
	return nil
}

// wat2wasm compiles a .wat file. A header line ";; wat2wasm: FLAGS" adds
// FLAGS (e.g. --enable-all for a module that needs a proposal).
func wat2wasm(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	args := []string{in, "-o", out}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		if flags, ok := strings.CutPrefix(sc.Text(), ";; wat2wasm:"); ok {
			args = append(args, strings.Fields(flags)...)
		}
	}
	if b, err := exec.Command("wat2wasm", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("wat2wasm %s: %w\n%s", in, err, b)
	}
	return nil
}

// measureBaseline runs the scan with the good plugin alone three times
// (the first warms the agent's compilation cache) and keeps the largest
// peak RSS of the last two. It also proves the harness: the victim must be
// renamed by the rule and tagged by the good plugin.
func measureBaseline() error {
	dir, err := os.MkdirTemp("", "proctag-hostile-baseline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	victim, err := spawnVictim()
	if err != nil {
		return err
	}
	defer stopVictim(victim)
	cfg, err := writeConfig(dir, []map[string]any{goodPlugin()}, "", nil)
	if err != nil {
		return err
	}
	for i := range 3 {
		res, err := scan(context.Background(), cfg)
		if err != nil {
			return fmt.Errorf("baseline scan: %w", err)
		}
		if msg := res.problem(); msg != "" {
			return fmt.Errorf("baseline scan: %s\nstderr:\n%s", msg, res.stderr)
		}
		snap, err := res.snapshot()
		if err != nil {
			return fmt.Errorf("baseline scan: %w", err)
		}
		p := findProcess(snap, victim.Process.Pid)
		if p == nil || p.Name != victimName || p.Tags[goodKey] != goodValue {
			return fmt.Errorf("baseline scan: victim pid %d not reported as %s with %s=%s: %+v", victim.Process.Pid, victimName, goodKey, goodValue, p)
		}
		if i > 0 {
			baselineRSS = max(baselineRSS, res.rss)
		}
	}
	fmt.Fprintf(os.Stderr, "hostile: baseline peak RSS %d MiB\n", baselineRSS>>20)
	return nil
}
