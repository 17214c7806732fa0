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

	"github.com/proctag/proctag/agent/internal/config"
)

// fileID tells whether a file changed without reading it.
type fileID struct {
	size, mtime int64
	ino         uint64
}

func statID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id
}

// dirFile is what the last poll saw of NAME.wasm and NAME.yaml.
type dirFile struct {
	wasm, manifest fileID
	content        [sha256.Size]byte // of the version loaded or refused
}

// Run polls PluginDir every PollInterval until ctx is done: a new or
// changed NAME.wasm or NAME.yaml is loaded (compiled, instantiated, init'ed)
// while the old version keeps serving, and swapped in only when the load
// worked; a removed NAME.wasm is unloaded. It returns nil when ctx is done.
// With no PluginDir it only waits for ctx.
func (h *Host) Run(ctx context.Context) error {
	if h.cfg.PluginDir == "" {
		<-ctx.Done()
		return nil
	}
	interval := h.cfg.PollInterval
	if interval <= 0 {
		interval = defaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := h.poll(ctx)
		if err != nil && !failing {
			h.logger.Warn("plugin-dir unreadable, plugins unchanged", "error", err)
		}
		failing = err != nil
	}
}

// poll compares PluginDir with what it saw last and loads, reloads or
// unloads accordingly.
func (h *Host) poll(ctx context.Context) error {
	entries, err := os.ReadDir(h.cfg.PluginDir)
	if err != nil {
		return fmt.Errorf("read plugin-dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".wasm"); ok && n != "" && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	for name := range h.dir {
		if !slices.Contains(names, name) {
			h.unload(ctx, name)
		}
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return nil
		}
		base := filepath.Join(h.cfg.PluginDir, name)
		d := h.dir[name]
		w, m := statID(base+".wasm"), statID(base+".yaml")
		if d != nil && d.wasm == w && d.manifest == m {
			continue
		}
		if d == nil {
			d = &dirFile{}
			h.dir[name] = d
		}
		d.wasm, d.manifest = w, m
		h.reload(ctx, name, d)
	}
	return nil
}

// reload loads plugin-dir's version of name unless its content is the one
// already loaded or refused.
func (h *Host) reload(ctx context.Context, name string, d *dirFile) {
	if slices.Contains(h.configured, name) {
		h.logger.Error("plugin-dir module ignored: a configured plugin has its name", "plugin", name)
		return
	}
	base := filepath.Join(h.cfg.PluginDir, name)
	wasm, werr := os.ReadFile(base + ".wasm")
	manifest, merr := os.ReadFile(base + ".yaml")
	content := sha256.Sum256(append(append(wasm, 0), manifest...))
	if content == d.content && werr == nil && (merr == nil || errors.Is(merr, fs.ErrNotExist)) {
		return // touched, not changed
	}
	d.content = content
	h.mu.Lock()
	if h.counters[name] == nil {
		h.counters[name] = &counters{}
		h.dirNames = append(h.dirNames, name)
		slices.Sort(h.dirNames)
	}
	h.mu.Unlock()
	spec, err := dirSpec(base, name, manifest, merr)
	var pl *Plugin
	if err == nil {
		pl, err = h.load(ctx, spec)
	} else {
		h.counters[name].loadFailures.Add(1)
	}
	if ctx.Err() != nil && err != nil {
		return // shutting down, not a broken plugin
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

// dirSpec builds a plugin-dir plugin's config from its manifest, or, with
// no manifest, the defaults with tag-prefix "NAME.". The module is always
// NAME.wasm beside the manifest.
func dirSpec(base, name string, manifest []byte, merr error) (config.Plugin, error) {
	switch {
	case errors.Is(merr, fs.ErrNotExist):
		manifest = []byte("tag-prefix: " + name + ".\n")
	case merr != nil:
		return config.Plugin{}, loadFault(name, "read manifest: %w", merr)
	}
	p, err := config.ParsePluginManifest(manifest, base+".yaml")
	if err != nil {
		return p, loadFault(name, "manifest: %w", err)
	}
	p.Path = base + ".wasm"
	return p, nil
}

// unload removes plugin-dir's name after its NAME.wasm disappeared.
func (h *Host) unload(ctx context.Context, name string) {
	delete(h.dir, name)
	h.mu.Lock()
	old := h.loaded[name]
	delete(h.loaded, name)
	delete(h.loadErrs, name)
	h.dirNames = slices.DeleteFunc(h.dirNames, func(n string) bool { return n == name })
	h.rebuild()
	h.mu.Unlock()
	if old != nil {
		h.logger.Info("plugin unloaded", "plugin", name)
		_ = old.Close(ctx)
	}
}
