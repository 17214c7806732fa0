package wasmhost

import (
	"time"

	"github.com/proctag/proctag/agent/internal/sandbox"
)

// PluginSpec is one plugin as the step runs it: what the sandbox loads
// (name, module, grant, limits) and the step's own limit. The agent maps
// it from its configuration (package runner), whose defaults fill every
// field.
type PluginSpec struct {
	sandbox.Spec
	// TickBudget is the total call time the plugin may use in one Apply;
	// the records it does not reach are called in later ones. Zero takes
	// a fallback of 1s, since a zero budget would never call the plugin.
	TickBudget time.Duration
	// DefaultFields says that the plugin's manifest listed no fields, so
	// that it reads only abi.FieldsDefault; the step warns when it loads
	// it, once per version.
	DefaultFields bool
}

// fallbackTickBudget is the TickBudget of a PluginSpec that leaves it zero.
const fallbackTickBudget = time.Second

// ManifestParser turns a plugin directory's NAME.yaml manifest into the
// plugin's spec. file is the manifest's path (the module is NAME.wasm
// beside it) and data its content, nil when there is no manifest. The
// step sets the spec's Name and Path itself; an error is logged and
// shown as the plugin's load error.
type ManifestParser func(file string, data []byte) (PluginSpec, error)

// Tenant is one tenant's plugin directory: another team's drop-in plugins,
// named TENANT/NAME, loaded within the ceiling its ParseManifest enforces.
type Tenant struct {
	// Name identifies the tenant in plugin names, logs and its status file.
	Name string
	// PluginDir is the tenant's directory of NAME.wasm + NAME.yaml files.
	PluginDir string
	// UIDs own PluginDir and its files (root always may), unless
	// AllowAnyOwner.
	UIDs          []int
	AllowAnyOwner bool
	// MaxPlugins is the number of plugins loaded from PluginDir at most.
	MaxPlugins int
	// MaxModuleBytes bounds a .wasm file read from PluginDir, within the
	// host's Limits; 0 = the Limits'.
	MaxModuleBytes int64
	// ParseManifest parses a manifest within the tenant's ceiling: a
	// manifest asking for more than the tenant allows is an error.
	ParseManifest ManifestParser
}
