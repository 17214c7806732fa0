package wasmhost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/proctag/proctag/agent/internal/dirtrust"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

// maxManifestBytes bounds a NAME.yaml manifest.
const maxManifestBytes = 1 << 20

// fileID tells whether a file changed without reading it.
type fileID struct {
	size, mtime int64
	ino         uint64
	mode        fs.FileMode
}

func statID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano(), mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id
}

// dirFile is what the last poll saw of NAME.wasm and NAME.yaml.
type dirFile struct {
	wasm, manifest fileID
	content        [sha256.Size]byte // of the version loaded or refused
	refused        string            // why the last version was refused, "" if loaded
}

// dirSource is one directory of drop-in plugins: the operator's plugin-dir
// or a tenant's. Its plugins are named NAME (operator) or TENANT/NAME.
type dirSource struct {
	dir    string
	tenant *Tenant // nil for the operator's
	policy dirtrust.Policy
	parse  ManifestParser
	// maxModule bounds a module file: max-module-size, or the tenant's.
	maxModule int64
	files     map[string]*dirFile // by NAME; Run's goroutine only (and New)
	refused   string              // the directory's last refusal, logged once
	// overLogged is the most files a poll left out for the tenant's
	// max-plugins so far: a poll that leaves out more logs it.
	overLogged int
	// statusFailed: the last status file write failed (logged once).
	statusFailed bool
}

// name is the plugin name of the file NAME.wasm.
func (s *dirSource) name(file string) string {
	if s.tenant != nil {
		return s.tenant.Name + "/" + file
	}
	return file
}

// label is what log lines say of the source.
func (s *dirSource) label() []any {
	if s.tenant != nil {
		return []any{"tenant", s.tenant.Name, "dir", s.dir}
	}
	return []any{"dir", s.dir}
}

// newSources makes the operator's and the tenants' directory sources.
func newSources(cfg Config) []*dirSource {
	maxModule := cfg.Limits.ModuleBytes()
	var out []*dirSource
	if cfg.PluginDir != "" {
		out = append(out, &dirSource{
			dir: cfg.PluginDir, maxModule: maxModule, files: map[string]*dirFile{},
			policy: dirtrust.Policy{Owners: []int{os.Geteuid()}}, parse: cfg.ParseManifest,
		})
	}
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		m := maxModule
		if t.MaxModuleBytes > 0 {
			m = min(m, t.MaxModuleBytes)
		}
		out = append(out, &dirSource{
			dir: t.PluginDir, tenant: t, maxModule: m, files: map[string]*dirFile{},
			policy: dirtrust.Policy{Owners: t.UIDs, AnyOwner: t.AllowAnyOwner}, parse: t.ParseManifest,
		})
	}
	return out
}

// Run polls the plugin directories every PollInterval until ctx is done: a
// new or changed NAME.wasm or NAME.yaml is loaded (compiled, instantiated,
// init'ed) while the old version keeps serving, and swapped in only when
// the load worked; a removed NAME.wasm is unloaded. It returns nil when ctx
// is done. With no directories it only waits for ctx.
func (h *Host) Run(ctx context.Context) error {
	if len(h.sources) == 0 {
		<-ctx.Done()
		return nil
	}
	interval := h.cfg.PollInterval
	if interval <= 0 {
		interval = defaultPollInterval
	}
	statusEvery := h.cfg.StatusInterval
	if statusEvery <= 0 {
		statusEvery = defaultStatusInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	if h.cfg.DirsInRun {
		_ = h.poll(ctx)
	}
	var wrote time.Time
	for {
		if now := h.now(); len(h.cfg.Tenants) > 0 && now.Sub(wrote) >= statusEvery {
			wrote = now
			h.writeStatus(now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_ = h.poll(ctx) // each source logs its own refusal once
	}
}

// poll compares every directory with what it saw last and loads, reloads
// or unloads accordingly. It returns the operator's directory's error, for
// New.
func (h *Host) poll(ctx context.Context) error {
	var first error
	for _, s := range h.sources {
		err := h.pollSource(ctx, s)
		if err != nil && s.tenant == nil && first == nil {
			first = err
		}
	}
	return first
}

// pollSource polls one directory. A directory that cannot be read or is
// refused as unsafe is logged once (until it changes); its plugins stay as
// they were when it could not be read, and are unloaded when it is refused.
func (h *Host) pollSource(ctx context.Context, s *dirSource) error {
	err := checkSource(s)
	var entries []os.DirEntry
	if err == nil {
		if entries, err = os.ReadDir(s.dir); err != nil {
			err = fmt.Errorf("read plugin-dir: %w", err)
		}
	}
	if err != nil {
		if msg := err.Error(); msg != s.refused {
			s.refused = msg
			h.logger.Error("plugin directory not used", append(s.label(), "error", msg)...)
		}
		if errors.Is(err, dirtrust.ErrRefused) {
			for file := range s.files {
				h.unload(ctx, s, file)
			}
		}
		return err
	}
	if s.refused != "" {
		s.refused = ""
		h.logger.Info("plugin directory usable again", s.label()...)
	}
	var files []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".wasm"); ok && n != "" {
			files = append(files, n) // any type: a refusal says why
		}
	}
	for file := range s.files {
		if !slices.Contains(files, file) {
			h.unload(ctx, s, file)
		}
	}
	// A tenant's files count toward its max-plugins whether they load or
	// not, so that each poll compiles at most that many; the files past
	// it are left out as a whole (unloaded if they were loaded), logged
	// when more are left out than ever before, not once per name: a
	// tenant renaming files cannot make the agent log, count or compile
	// without bound.
	taken, over := 0, 0
	for _, file := range files {
		if ctx.Err() != nil {
			return nil
		}
		if s.tenant != nil && taken >= s.tenant.MaxPlugins {
			over++
			if s.files[file] != nil {
				h.unload(ctx, s, file)
			}
			continue
		}
		taken++
		base := filepath.Join(s.dir, file)
		d := s.files[file]
		w, m := statID(base+".wasm"), statID(base+".yaml")
		if d == nil || d.wasm != w || d.manifest != m {
			if d == nil {
				d = &dirFile{}
				s.files[file] = d
			}
			d.wasm, d.manifest = w, m
			h.reload(ctx, s, file, d)
		}
	}
	if over > s.overLogged {
		s.overLogged = over
		h.logger.Error("plugin files past the tenant's max-plugins are not loaded",
			append(s.label(), "max_plugins", s.tenant.MaxPlugins, "left_out", over)...)
	}
	return nil
}

// checkSource reports whether s's directory can be used at all.
func checkSource(s *dirSource) error {
	if err := dirtrust.CheckDir(s.dir, s.policy); err != nil {
		return fmt.Errorf("read plugin-dir: %w", err)
	}
	return nil
}

// refuseFile records and logs once that a file of s is not loaded.
func (h *Host) refuseFile(s *dirSource, file, why string) {
	d := s.files[file]
	if d == nil {
		d = &dirFile{}
		s.files[file] = d
	}
	if d.refused == why {
		return
	}
	d.refused = why
	name := s.name(file)
	if !slices.Contains(h.configured, name) {
		h.mu.Lock()
		h.addDirName(name)
		h.loadErrs[name] = why
		h.mu.Unlock()
	}
	h.logger.Error("plugin not loaded", append(s.label(), "plugin", name, "error", why)...)
}

// addDirName registers a directory plugin's name under h.mu.
func (h *Host) addDirName(name string) {
	if h.counters[name] == nil {
		h.counters[name] = &counters{}
		h.dirNames = append(h.dirNames, name)
		h.sortDirNames()
	}
}

// sortDirNames orders the directory plugins: the operator's, then each
// tenant's in config order, each by name.
func (h *Host) sortDirNames() {
	rank := func(name string) int {
		t, _, ok := strings.Cut(name, "/")
		if !ok {
			return -1
		}
		return slices.IndexFunc(h.cfg.Tenants, func(x Tenant) bool { return x.Name == t })
	}
	slices.SortFunc(h.dirNames, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
}

// reload loads the directory's version of file unless its content is the
// one already loaded or refused.
func (h *Host) reload(ctx context.Context, s *dirSource, file string, d *dirFile) {
	name := s.name(file)
	if slices.Contains(h.configured, name) {
		h.refuseFile(s, file, "a configured plugin has its name")
		return
	}
	wasm, werr := dirtrust.ReadFile(s.dir, file+".wasm", s.maxModule, s.policy)
	manifest, merr := dirtrust.ReadFile(s.dir, file+".yaml", maxManifestBytes, s.policy)
	content := sha256.Sum256(append(append(slices.Clip(wasm), 0), manifest...))
	if content == d.content && werr == nil && (merr == nil || errors.Is(merr, fs.ErrNotExist)) {
		return // touched, not changed
	}
	d.content = content
	h.mu.Lock()
	h.addDirName(name)
	h.mu.Unlock()
	var spec PluginSpec
	err := werr
	switch {
	case err != nil:
		err = loadFault(name, "read module: %w", err)
	case merr != nil && !errors.Is(merr, fs.ErrNotExist):
		err = loadFault(name, "read manifest: %w", merr)
	default:
		spec, err = s.spec(file, manifest)
	}
	var pl *plugin
	if err == nil {
		spec.Name, spec.Wasm = name, wasm
		pl, err = h.load(ctx, spec)
	} else {
		h.counters[name].loadFailures.Add(1)
	}
	if ctx.Err() != nil && err != nil {
		return // shutting down, not a broken plugin
	}
	d.refused = ""
	if err != nil {
		d.refused = err.Error()
	}
	h.mu.Lock()
	old := h.install(name, pl, err)
	h.mu.Unlock()
	if old != nil {
		// Apply holds the read lock while it runs, so once install has
		// had the write lock no Apply uses old any more.
		_ = old.Close(ctx)
	}
}

// spec builds a directory plugin's spec from its manifest (nil when there
// is none) with the source's ManifestParser: the operator's or the
// tenant's, which keeps it within the tenant's ceiling. The module is
// always NAME.wasm beside the manifest.
func (s *dirSource) spec(file string, manifest []byte) (PluginSpec, error) {
	base := filepath.Join(s.dir, file)
	if s.parse == nil {
		return PluginSpec{}, loadFault(s.name(file), "manifest: no manifest parser for %s", s.dir)
	}
	p, err := s.parse(base+".yaml", manifest)
	if err != nil {
		return p, loadFault(s.name(file), "manifest: %w", err)
	}
	p.Path = base + ".wasm"
	return p, nil
}

// loadFault is a load refusal of the plugin called name.
func loadFault(name string, format string, args ...any) error {
	return &sandbox.Fault{Plugin: name, Kind: sandbox.FaultLoad, Err: fmt.Errorf(format, args...)}
}

// unload removes a directory plugin after its NAME.wasm disappeared or its
// directory was refused.
func (h *Host) unload(ctx context.Context, s *dirSource, file string) {
	delete(s.files, file)
	name := s.name(file)
	h.mu.Lock()
	old := h.loaded[name]
	delete(h.loaded, name)
	delete(h.loadErrs, name)
	delete(h.counters, name) // a name gone for good keeps no memory
	h.dirNames = slices.DeleteFunc(h.dirNames, func(n string) bool { return n == name })
	h.rebuild()
	h.mu.Unlock()
	if old != nil {
		h.logger.Info("plugin unloaded", append(s.label(), "plugin", name)...)
		_ = old.Close(ctx)
	}
}
