package hostile

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/proctag/proctag/agent/snapshot"
)

// The victim, the rule that names it and the good plugin's tag.
const (
	victimArg0 = "hostile-victim"
	victimName = "victim-by-rule"
	goodKey    = "acme.io/team"
	goodValue  = "good"
	evilPrefix = "evil."
)

// Limits of every attack run.
const (
	// hardLimit is how long an agent may run before the attack counts as
	// not contained; it is then killed.
	hardLimit = 3 * time.Minute
	// maxStderr bounds the agent's log: guest output is rate-limited.
	maxStderr = 1 << 20
	// parallel is how many attacks run at once (the machine has 2 cores).
	parallel = 2
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

// slots lets at most parallel agents run at once.
var slots = make(chan struct{}, parallel)

// acquire takes a slot until the test ends.
func acquire(t *testing.T) {
	t.Helper()
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
}

// rssBound is the most peak RSS an agent may reach with an attacker of
// instances instances capped at memoryLimit bytes each, from a module of
// moduleBytes: what it uses with the good plugin alone, each instance's
// memory plus 16 MiB for its stack (4 × max-stack-size) and tables, 8
// times the module's size for compiling it (ABI.md's memory bound), and
// 64 MiB of slack for the decoding and logging around the calls. Bytes.
func rssBound(instances int, memoryLimit, moduleBytes int64) int64 {
	return baselineRSS + int64(instances)*(memoryLimit+16*mib) + 8*moduleBytes + 64*mib
}

// maxModuleBytes is plugin-limits.max-module-size's default: a larger
// file is refused unread, so it costs no memory.
const maxModuleBytes = 32 * mib

// spawnVictim starts /bin/sleep with argv[0] hostile-victim, so that its
// process_name (the last element of argv[0]) is hostile-victim.
func spawnVictim() (*exec.Cmd, error) {
	cmd := exec.Command("/bin/sleep", "600")
	cmd.Args[0] = victimArg0
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start victim: %w", err)
	}
	return cmd, nil
}

func stopVictim(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// startVictims starts n victims, killed when the test ends, and returns the
// pid of the first.
func startVictims(t *testing.T, n int) int {
	t.Helper()
	pid := 0
	for i := range n {
		cmd, err := spawnVictim()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopVictim(cmd) })
		if i == 0 {
			pid = cmd.Process.Pid
		}
	}
	return pid
}

// goodPlugin is the plugins: entry of static-tags, tagging the victim.
func goodPlugin() map[string]any {
	return map[string]any{
		"name":         "good",
		"path":         goodWasm,
		"capabilities": []string{"tag"},
		"tag-prefix":   "acme.io/",
		"fields":       []string{"name", "process_name", "cmdline"},
		"config": []map[string]any{{
			"match": "^" + victimArg0 + "$",
			"on":    "process_name",
			"tags":  map[string]string{goodKey: goodValue},
		}},
		"timeout":      "1s",
		"memory-limit": "32MiB",
	}
}

// writeConfig writes dir/proctag.yaml: the victim's rule, plugins in order,
// pluginDir when not "" and the keys of extra.
func writeConfig(dir string, plugins []map[string]any, pluginDir string, extra map[string]any) (string, error) {
	cfg := map[string]any{
		"host-id":                     "hostile-scan",
		"os-proc-socket-min-lifetime": 0,
		"os-proc-regex": []map[string]string{
			{"match-regex": "^" + victimArg0 + "$", "rewrite-name": victimName},
		},
		"plugins": plugins,
	}
	if pluginDir != "" {
		cfg["plugin-dir"] = pluginDir
	}
	maps.Copy(cfg, extra)
	return writeYAML(filepath.Join(dir, "proctag.yaml"), cfg)
}

func writeYAML(path string, v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, b, 0o644)
}

// scanResult is what one run of the agent left.
type scanResult struct {
	stdout, stderr []byte
	wall           time.Duration
	rss            int64 // the agent's peak RSS (at the kill if timed out), bytes
	exit           int
	timedOut       bool
}

// scan runs `proctag scan --config cfg --format json` under hardLimit.
func scan(ctx context.Context, cfg string) (scanResult, error) {
	return runAgent(ctx, "scan", "--log-level", "info", "--config", cfg, "--format", "json")
}

// runAgent runs the agent with args (through the wrapper of agentCommand)
// until it exits or hardLimit passes, and collects what it left.
func runAgent(ctx context.Context, args ...string) (scanResult, error) {
	ctx, cancel := context.WithTimeout(ctx, hardLimit)
	defer cancel()
	cmd, report, err := agentCommand(ctx, args...)
	if err != nil {
		return scanResult{}, err
	}
	defer report.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	// stdin is a pipe that stays open and empty while the agent runs, as
	// a terminal would: a guest must never be able to wait on it.
	stdin, hold, err := os.Pipe()
	if err != nil {
		return scanResult{}, err
	}
	defer stdin.Close()
	defer hold.Close()
	cmd.Stdin = stdin
	start := time.Now()
	err = cmd.Start()
	agentStarted(cmd)
	if err != nil {
		return scanResult{}, fmt.Errorf("run %s: %w", agentBin, err)
	}
	_ = cmd.Wait()
	res := scanResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), wall: time.Since(start)}
	res.exit = cmd.ProcessState.ExitCode()
	res.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	res.rss, err = readRSS(report)
	if err != nil && !res.timedOut {
		return res, err
	}
	return res, nil
}

// problem says why the run did not end cleanly, or "".
func (r *scanResult) problem() string {
	switch {
	case r.timedOut:
		return fmt.Sprintf("not contained: still running after %v, killed", hardLimit)
	case r.exit != 0:
		return fmt.Sprintf("exit status %d", r.exit)
	}
	return ""
}

func (r *scanResult) snapshot() (*snapshot.Snapshot, error) {
	var s snapshot.Snapshot
	if err := json.Unmarshal(r.stdout, &s); err != nil {
		return nil, fmt.Errorf("stdout is not a JSON snapshot: %w (%d bytes)", err, len(r.stdout))
	}
	return &s, nil
}

func findProcess(s *snapshot.Snapshot, pid int) *snapshot.Process {
	for i := range s.Processes {
		if s.Processes[i].PID == pid {
			return &s.Processes[i]
		}
	}
	return nil
}

// logStart matches the first line of an hclog record.
var logStart = regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)

// logRecords splits the agent's log into records: a line with a timestamp
// and the continuation lines of its multi-line values.
func logRecords(stderr []byte) []string {
	var recs []string
	for line := range strings.Lines(string(stderr)) {
		if logStart.MatchString(line) || len(recs) == 0 {
			recs = append(recs, line)
			continue
		}
		recs[len(recs)-1] += line
	}
	return recs
}

// namesPlugin matches "plugin=NAME" (a log key) or "plugin NAME:" (a
// fault's text) for exactly NAME.
func namesPlugin(name string) *regexp.Regexp {
	return regexp.MustCompile(`plugin[= ]"?` + regexp.QuoteMeta(name) + `(["\s:]|$)`)
}

// pluginRecords returns the first n log records naming the plugin, each
// on one line and cut at 300 bytes, for the test log.
func pluginRecords(stderr []byte, plugin string, n int) []string {
	re := namesPlugin(plugin)
	var out []string
	for _, r := range logRecords(stderr) {
		if len(out) == n {
			break
		}
		if re.MatchString(r) {
			r = strings.Join(strings.Fields(r), " ")
			if len(r) > 300 {
				r = r[:300] + "…"
			}
			out = append(out, r)
		}
	}
	return out
}

// missingReasons returns the reasons that no log record naming the plugin
// mentions (case-insensitive, the plugin's name itself left out: a plugin
// called import-memory does not say "memory"); a reason "a|b" is met by
// either.
func missingReasons(stderr []byte, plugin string, reasons []string) []string {
	re := namesPlugin(plugin)
	var named []string
	for _, r := range logRecords(stderr) {
		if re.MatchString(r) {
			named = append(named, strings.ReplaceAll(strings.ToLower(r), strings.ToLower(plugin), ""))
		}
	}
	var missing []string
	for _, reason := range reasons {
		met := func(r string) bool {
			return slices.ContainsFunc(strings.Split(strings.ToLower(reason), "|"), func(alt string) bool {
				return strings.Contains(r, alt)
			})
		}
		if !slices.ContainsFunc(named, met) {
			missing = append(missing, reason)
		}
	}
	if len(named) == 0 && len(reasons) == 0 {
		missing = append(missing, "(any record naming the plugin)")
	}
	return missing
}

// head returns the first n lines of b, for failure messages.
func head(b []byte, n int) string {
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… (%d more lines)\n", len(lines)-n))
	}
	return strings.Join(lines, "")
}

// checkContained asserts that the scan res, run with attacker a, ended
// contained for the victim pid.
func checkContained(t *testing.T, a *attack, pid int, res *scanResult) {
	t.Helper()
	if msg := res.problem(); msg != "" {
		t.Errorf("%s\nstderr:\n%s", msg, head(res.stderr, 20))
	}
	if bound := a.rssBound(); res.rss > bound {
		t.Errorf("peak RSS %d MiB, over the bound of %d MiB (baseline %d MiB)", res.rss>>20, bound>>20, baselineRSS>>20)
	}
	if res.timedOut {
		return
	}
	if n := len(res.stderr); n > maxStderr {
		t.Errorf("agent log of %d bytes, over %d: guest output is not rate-limited", n, maxStderr)
	}
	if missing := missingReasons(res.stderr, a.name, a.reasons); len(missing) > 0 {
		t.Errorf("no log record names plugin %s with %q\nstderr:\n%s", a.name, missing, head(res.stderr, 20))
	}
	snap, err := res.snapshot()
	if err != nil {
		t.Error(err)
		return
	}
	checkVictim(t, a, findProcess(snap, pid), pid)
	for _, p := range snap.Processes {
		for k, v := range p.Tags {
			if _, ok := a.wantEvil[k]; strings.HasPrefix(k, evilPrefix) && !ok {
				t.Errorf("pid %d (%s) has the attacker's tag %s=%q", p.PID, p.ProcessName, k, v)
			}
		}
	}
}

// checkVictim asserts the victim's name and that its tags are exactly the
// good plugin's and those the attacker may set.
func checkVictim(t *testing.T, a *attack, p *snapshot.Process, pid int) {
	t.Helper()
	if p == nil {
		t.Errorf("victim pid %d is not in the snapshot (dropped?)", pid)
		return
	}
	if p.Name != victimName {
		t.Errorf("victim pid %d is named %q, want %q (the rule's)", pid, p.Name, victimName)
	}
	want := map[string]string{goodKey: goodValue}
	for k, v := range a.wantEvil {
		want[k] = v
	}
	for k, v := range want {
		if got, ok := p.Tags[k]; !ok || got != v {
			t.Errorf("victim pid %d: tag %s is %q (present %v), want %q", pid, k, got, ok, v)
		}
	}
	for k, v := range p.Tags {
		if _, ok := want[k]; !ok {
			t.Errorf("victim pid %d has the unexpected tag %s=%q", pid, k, v)
		}
	}
}

// attack is one row of the suite: a module, where it is configured, its
// limits, and what the agent must log. The plugin is called name.
type attack struct {
	name string
	// wat is the module, testdata/WAT.wat; "" means name. gen, when set,
	// writes NAME.wasm at path instead (generated modules, special files).
	wat string
	gen func(t *testing.T, path string)
	// configured puts the attack under plugins:, before the good plugin;
	// otherwise it is NAME.wasm + NAME.yaml in plugin-dir (after it).
	configured bool
	// Limits: timeout (default 100ms), memoryLimit (default 8 MiB),
	// instances (default 2); extra holds further plugin keys (config,
	// scope, capabilities, fields), overriding the defaults.
	timeout     string
	memoryLimit int64
	instances   int
	extra       map[string]any
	// victims is how many more victims to start besides the one checked.
	victims int
	// reasons must each appear, case-insensitive, in a log record that
	// names the plugin; "a|b" accepts either.
	reasons []string
	// wantEvil are tags under evil. that the plugin may legitimately set;
	// the victim must have them.
	wantEvil map[string]string
	// moduleBytes is the size of the module install wrote, when the agent
	// reads it (a regular file within max-module-size).
	moduleBytes int64
	// rssMemory, when set, replaces memoryLimit in the RSS bound: the
	// memory the module really uses.
	rssMemory int64
}

func (a *attack) limits() (timeout string, memoryLimit int64, instances int) {
	timeout, memoryLimit, instances = "100ms", 8*mib, 2
	if a.timeout != "" {
		timeout = a.timeout
	}
	if a.memoryLimit != 0 {
		memoryLimit = a.memoryLimit
	}
	if a.instances != 0 {
		instances = a.instances
	}
	return timeout, memoryLimit, instances
}

func (a *attack) rssBound() int64 {
	_, memoryLimit, instances := a.limits()
	if a.rssMemory != 0 {
		memoryLimit = a.rssMemory
	}
	return rssBound(instances, memoryLimit, a.moduleBytes)
}

// spec is the attack's plugin keys, as a plugins: entry or a manifest.
func (a *attack) spec() map[string]any {
	timeout, memoryLimit, instances := a.limits()
	m := map[string]any{
		"timeout":      timeout,
		"memory-limit": sizeText(memoryLimit),
		"instances":    instances,
		"capabilities": []string{"tag"},
		"tag-prefix":   evilPrefix,
	}
	for k, v := range a.extra {
		m[k] = v
	}
	return m
}

// sizeText writes a memory-limit as the config reads it.
func sizeText(n int64) string {
	switch {
	case n%gib == 0:
		return fmt.Sprintf("%dGiB", n/gib)
	case n%mib == 0:
		return fmt.Sprintf("%dMiB", n/mib)
	}
	return fmt.Sprint(n)
}

// install writes the attack's module, manifest and config (with the keys
// of extra) into a temp dir and returns the config's path.
func (a *attack) install(t *testing.T, extra map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	plugins := []map[string]any{goodPlugin()}
	pluginDir := ""
	modDir := dir
	if a.configured {
		spec := a.spec()
		spec["name"], spec["path"] = a.name, filepath.Join(dir, a.name+".wasm")
		plugins = append([]map[string]any{spec}, plugins...)
	} else {
		pluginDir = filepath.Join(dir, "plugins")
		modDir = pluginDir
		if err := os.Mkdir(pluginDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := writeYAML(filepath.Join(pluginDir, a.name+".yaml"), a.spec()); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(modDir, a.name+".wasm")
	if a.gen != nil {
		a.gen(t, path)
	} else {
		copyModule(t, cmp.Or(a.wat, a.name), path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxModuleBytes {
		a.moduleBytes = fi.Size()
	}
	cfg, err := writeConfig(dir, plugins, pluginDir, extra)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// copyModule copies the module compiled from testdata/WAT.wat to path.
func copyModule(t *testing.T, wat, path string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modulesDir, wat+".wasm"))
	if err != nil {
		t.Fatalf("compiled module: %v", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
