package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// PluginLimits are the structural limits every plugin module is checked
// against before it is compiled, from the plugin-limits: mapping. They
// apply to the operator's plugins and to tenants' alike; a zero field is
// never produced by Parse (DefaultPluginLimits fills what the file leaves
// out). Read-only after load, like the rest of Config.
type PluginLimits struct {
	// MaxModuleBytes is max-module-size: a larger .wasm file is refused
	// without being read. Default 32MiB, 1KiB to 1GiB.
	MaxModuleBytes int64
	// MaxFunctions is max-functions: functions defined plus imported.
	// Default 50000, 1 to 1000000.
	MaxFunctions int
	// MaxFunctionBytes is max-function-size: one function body's encoded
	// size. Default 1MiB, 1 byte to 16MiB.
	MaxFunctionBytes int64
	// MaxNesting is max-nesting: the depth of nested block, loop and if in
	// one function. Default 1024, 1 to 100000.
	MaxNesting int
	// MaxLocals is max-locals: the locals of one function, parameters
	// included. Default 10000, 1 to 1000000.
	MaxLocals int
	// MaxFunctionCost is max-function-cost: (params + locals + 1) ×
	// branches of one function (block, loop, if, else, br, br_if and each
	// br_table target), what compiling it costs in merges of values.
	// Default 262144 (under half a second of compiling), 1 to 1<<30.
	MaxFunctionCost int
	// MaxModuleCost is max-module-cost: the sum of the functions' costs.
	// Default 8388608 (about 7 s of compiling on two cores), 1 to 1<<34.
	MaxModuleCost int
	// MaxStackBytes is max-stack-size: the call stack a guest may use.
	// Default 4MiB, 64KiB to 256MiB.
	MaxStackBytes int64
	// MaxTableElements is max-table-elements: the size of a table, initial
	// and grown. Default 100000, 1 to 10000000.
	MaxTableElements int
	// CompileTimeout is compile-timeout: the limit for compiling one
	// module. Default 30s, at most 10m.
	CompileTimeout time.Duration
}

// Ranges of the plugin-limits keys.
const (
	minModuleBytes     = 1 << 10
	maxModuleBytes     = 1 << 30
	maxFunctions       = 1_000_000
	maxFunctionBytes   = 16 << 20
	maxNesting         = 100_000
	maxLocals          = 1_000_000
	maxFunctionCost    = 1 << 30
	maxModuleCost      = 1 << 34
	minStackBytes      = 64 << 10
	maxStackBytes      = 256 << 20
	maxTableElements   = 10_000_000
	maxCompileTimeout  = 10 * time.Minute
	defaultModuleBytes = 32 << 20
)

// DefaultPluginLimits returns the limits used for every plugin-limits key
// the file leaves out; Default() holds them too.
func DefaultPluginLimits() PluginLimits {
	return PluginLimits{
		MaxModuleBytes:   defaultModuleBytes,
		MaxFunctions:     50_000,
		MaxFunctionBytes: 1 << 20,
		MaxNesting:       1024,
		MaxLocals:        10_000,
		MaxStackBytes:    4 << 20,
		MaxTableElements: 100_000,
		MaxFunctionCost:  1 << 18,
		MaxModuleCost:    1 << 23,
		CompileTimeout:   30 * time.Second,
	}
}

// pluginLimitsFields is the registry of the plugin-limits: mapping.
func pluginLimitsFields(l *PluginLimits) []field {
	return []field{
		{name: "max-module-size", kind: "size", def: "32MiB",
			meaning: "a larger `.wasm` file is refused without being read; 1KiB to 1GiB",
			decode: func(d *decoder, v *yaml.Node, k string) {
				d.size(v, k, minModuleBytes, maxModuleBytes, &l.MaxModuleBytes)
			}},
		{name: "max-functions", kind: "int", def: "50000",
			meaning: "functions a module may define and import, together; 1 to 1000000",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxFunctions, &l.MaxFunctions) }},
		{name: "max-function-size", kind: "size", def: "1MiB",
			meaning: "encoded size of one function body; at most 16MiB",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.size(v, k, 1, maxFunctionBytes, &l.MaxFunctionBytes) }},
		{name: "max-nesting", kind: "int", def: "1024",
			meaning: "depth of nested `block`, `loop` and `if` in one function; 1 to 100000",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxNesting, &l.MaxNesting) }},
		{name: "max-locals", kind: "int", def: "10000",
			meaning: "locals of one function, parameters included; 1 to 1000000",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxLocals, &l.MaxLocals) }},
		{name: "max-function-cost", kind: "int", def: "262144",
			meaning: "(params + locals + 1) × branches of one function, what compiling it costs (0.4 s at the default; one function cannot be interrupted); 1 to 1073741824",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxFunctionCost, &l.MaxFunctionCost) }},
		{name: "max-module-cost", kind: "int", def: "8388608",
			meaning: "the sum of the functions' costs (about 7 s of compiling at the default; a 2 MB Go plugin costs 880000); 1 to 17179869184",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxModuleCost, &l.MaxModuleCost) }},
		{name: "max-stack-size", kind: "size", def: "4MiB",
			meaning: "call stack a guest may use; 64KiB to 256MiB",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.size(v, k, minStackBytes, maxStackBytes, &l.MaxStackBytes) }},
		{name: "max-table-elements", kind: "int", def: "100000",
			meaning: "size of a table, initial and grown; 1 to 10000000",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.intRange(v, k, 1, maxTableElements, &l.MaxTableElements) }},
		{name: "compile-timeout", kind: "duration", def: "30s",
			meaning: "limit for compiling one module, at most 10m (`\"30s\"` or whole seconds)",
			decode:  func(d *decoder, v *yaml.Node, k string) { d.duration(v, k, maxCompileTimeout, &l.CompileTimeout) }},
	}
}
