package wasmhost

import (
	"context"
	"errors"
	"github.com/proctag/proctag/agent/internal/sandbox/sandboxtest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/config"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

// The Go guest built by TestMain, and the compilation cache the tests
// share so that it compiles once (sandboxtest).
var (
	behaveWasm     string
	sharedCacheDir = sandboxtest.CacheDir
)

func TestMain(m *testing.M) {
	os.Exit(sandboxtest.Main(m, &behaveWasm, func(path string) error {
		ctx := context.Background()
		p, err := sandbox.LoadFile(ctx, path, behave("warm").Spec, hclog.NewNullLogger(), sandbox.WithCacheDir(sharedCacheDir),
			sandbox.WithLimits(sandbox.Limits{CompileTimeout: time.Hour}))
		if err != nil {
			return err
		}
		return p.Close(ctx)
	}))
}

// syncBuffer is the log sink of testLogger.
type syncBuffer = sandboxtest.SyncBuffer

func testLogger(t *testing.T) (hclog.Logger, *syncBuffer) { return sandboxtest.Logger(t) }

// behave returns a grant for the behave guest with prefix "test.". The
// timeout is generous: the machine running the tests may be loaded, and
// only the timeout tests need a short one.
func behave(name string, mods ...func(*PluginSpec)) PluginSpec {
	p := PluginSpec{Spec: sandbox.Spec{
		Name: name, Path: behaveWasm, Config: []byte("prefix=test."),
		Capabilities: []string{"tag"}, TagPrefix: "test.", Fields: allButEnv,
		Timeout: 30 * time.Second, MemoryLimitBytes: 64 << 20, Instances: 2,
	}}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// allButEnv grants every record field but the environment: what the
// behave guest reads.
var allButEnv = []string{"pid", "ppid", "start_time", "name", "process_name", "cmdline", "exe", "uid", "user", "container_id", "cgroup", "tags"}

// fakeClock is a settable clock for the breaker and the log limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newHost starts a host with the shared compilation cache and closes it
// when the test ends.
func newHost(t *testing.T, cfg Config) (*Host, *syncBuffer) {
	t.Helper()
	logger, buf := testLogger(t)
	if cfg.CacheDir == "" {
		cfg.CacheDir = sharedCacheDir
	}
	if cfg.ParseManifest == nil {
		cfg.ParseManifest = parseManifest
	}
	h, err := New(t.Context(), cfg, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h, buf
}

// proc builds an Input with the given name (which picks the behave
// guest's behaviour) and pid.
func proc(pid int, name string) Input {
	return Input{
		Key: Key{PID: pid, StartTicks: uint64(1000 + pid)},
		Record: abi.Record{
			PID: pid, PPID: 1, StartTime: 1700000000000, Name: name, ProcessName: "proc",
			Argv: []string{"/usr/bin/proc", "--flag"}, Cmdline: "/usr/bin/proc --flag",
			Exe: "/usr/bin/proc", UID: 1000, User: "alice", Cgroup: "0::/user.slice",
		},
	}
}

// tagValue returns the value of key in tags, and whether it is there.
func tagValue(tags []abi.Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// pluginStats returns the stats of the named plugin.
func pluginStats(t testing.TB, h *Host, name string) PluginStats {
	if t != nil {
		t.Helper()
	}
	for _, s := range h.Stats().Plugins {
		if s.Name == name {
			return s
		}
	}
	if t != nil {
		t.Fatalf("no stats for plugin %s", name)
	}
	return PluginStats{}
}

// faultKind returns the kind of a *sandbox.Fault error, or -1.
func faultKind(err error) sandbox.FaultKind {
	if f, ok := errors.AsType[*sandbox.Fault](err); ok {
		return f.Kind
	}
	return -1
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// handSpec returns a grant for the hand-written module NAME of the
// sandbox's testdata, with prefix "hand.".
func handSpec(name string, mods ...func(*PluginSpec)) PluginSpec {
	p := PluginSpec{Spec: sandbox.Spec{Name: name, Path: modulePath(name), Capabilities: []string{"tag"}, TagPrefix: "hand.", Fields: allButEnv, MemoryLimitBytes: 1 << 20}}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// modulePath is the hand-written module NAME in the sandbox's testdata.
func modulePath(name string) string {
	return filepath.Join("..", "sandbox", "testdata", "modules", name+".wasm")
}

// fromConfig maps a parsed plugin as the agent's runner does (the step's
// tests cannot import the runner, which imports the step).
func fromConfig(p config.Plugin) PluginSpec {
	return PluginSpec{TickBudget: p.TickBudget, Spec: sandbox.Spec{
		Name: p.Name, Path: p.Path, SHA256: p.SHA256, Config: p.Config,
		Capabilities: p.Capabilities, TagPrefix: p.TagPrefix, Fields: p.Fields,
		Scope:   sandbox.Scope{UIDs: p.Scope.UIDs, MatchRegex: p.Scope.MatchRegex, MatchType: p.Scope.MatchType},
		Timeout: p.Timeout, InitTimeout: p.InitTimeout, MemoryLimitBytes: p.MemoryLimitBytes, Instances: p.Instances,
	}}
}

// parseManifest parses an operator's manifest with the config package, as
// the runner's parser does.
func parseManifest(file string, data []byte) (PluginSpec, error) {
	if data == nil {
		data = []byte("tag-prefix: " + strings.TrimSuffix(filepath.Base(file), ".yaml") + ".\n")
	}
	p, err := config.ParsePluginManifest(data, file)
	return fromConfig(p), err
}

// fromConfigTenant maps a tenant as the runner does.
func fromConfigTenant(t config.Tenant) Tenant {
	return Tenant{
		Name: t.Name, PluginDir: t.PluginDir, UIDs: t.UIDs, AllowAnyOwner: t.AllowAnyOwner,
		MaxPlugins: t.MaxPlugins, MaxModuleBytes: t.MaxModuleBytes,
		ParseManifest: func(file string, data []byte) (PluginSpec, error) {
			p, err := config.ParseTenantManifest(t, data, file)
			return fromConfig(p), err
		},
	}
}
