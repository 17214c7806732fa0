package wasmhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StatusFile is the name of the status file the host writes into each
// tenant's plugin directory, so that a tenant sees why its plugins did not
// load or keep faulting without reading the agent's log.
const StatusFile = ".proctag-status.json"

// DirStatus is the content of a StatusFile: the state of one directory's
// plugins.
type DirStatus struct {
	// Tenant is the tenant's name ("" for the operator's plugin-dir).
	Tenant string `json:"tenant,omitempty"`
	// Dir is the directory.
	Dir string `json:"dir"`
	// Updated is when the host wrote the file.
	Updated time.Time `json:"updated"`
	// Error is why the directory itself is not used, if it is not.
	Error string `json:"error,omitempty"`
	// Plugins are the directory's plugins by name.
	Plugins []PluginStatus `json:"plugins"`
}

// PluginStatus is one plugin's line in a DirStatus.
type PluginStatus struct {
	// Name is the file's NAME (without the tenant).
	Name string `json:"name"`
	// Loaded reports whether a version serves; Error is why the last load
	// failed.
	Loaded bool   `json:"loaded"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
	// Calls and Records count export calls and the records sent.
	Calls   uint64 `json:"calls"`
	Records uint64 `json:"records"`
	// Faults counts faults by kind; LastFault is the newest one's text.
	Faults    map[string]uint64 `json:"faults,omitempty"`
	LastFault string            `json:"last_fault,omitempty"`
	// MicrosPerCall is the mean time of a call.
	MicrosPerCall float64 `json:"micros_per_call"`
	// Breaker is the circuit breaker's state.
	Breaker string `json:"breaker"`
	// BudgetSkips counts records put off by the tick budget.
	BudgetSkips uint64 `json:"budget_skips,omitempty"`
}

// statuses returns the status of every directory source.
func (h *Host) statuses(now time.Time) []DirStatus {
	st := h.Stats()
	var out []DirStatus
	for _, s := range h.sources {
		ds := DirStatus{Dir: s.dir, Updated: now, Error: s.refused, Plugins: []PluginStatus{}}
		prefix := ""
		if s.tenant != nil {
			ds.Tenant = s.tenant.Name
			prefix = s.tenant.Name + "/"
		}
		for _, ps := range st.Plugins {
			file, ok := strings.CutPrefix(ps.Name, prefix)
			if !ok || s.files[file] == nil || (prefix == "" && strings.Contains(ps.Name, "/")) {
				continue
			}
			line := PluginStatus{
				Name: file, Loaded: ps.Loaded, SHA256: ps.SHA256, Error: ps.LoadError,
				Calls: ps.Calls, Records: ps.Records, Faults: ps.Faults, LastFault: ps.LastFault,
				Breaker: ps.Breaker.String(), BudgetSkips: ps.BudgetSkips,
			}
			if ps.Calls > 0 {
				line.MicrosPerCall = float64(ps.CallTime.Microseconds()) / float64(ps.Calls)
			}
			ds.Plugins = append(ds.Plugins, line)
		}
		out = append(out, ds)
	}
	return out
}

// writeStatus writes each tenant's StatusFile (atomically: a temporary file
// renamed over it, readable by all). A failure is logged once per
// directory until a write works again.
func (h *Host) writeStatus(now time.Time) {
	for i, ds := range h.statuses(now) {
		s := h.sources[i]
		if s.tenant == nil || (s.refused != "" && !dirExists(s.dir)) {
			continue
		}
		err := writeJSON(filepath.Join(s.dir, StatusFile), ds)
		switch {
		case err != nil && !s.statusFailed:
			s.statusFailed = true
			h.logger.Warn("cannot write the tenant's status file", append(s.label(), "error", err)...)
		case err == nil:
			s.statusFailed = false
		}
	}
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// writeJSON writes v as indented JSON to path through a temporary file in
// the same directory.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".proctag-status-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadStatus reads a StatusFile, for `proctag plugin status`.
func ReadStatus(path string) (DirStatus, error) {
	var ds DirStatus
	b, err := os.ReadFile(path)
	if err != nil {
		return ds, err
	}
	err = json.Unmarshal(b, &ds)
	return ds, err
}
