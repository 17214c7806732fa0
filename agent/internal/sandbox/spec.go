package sandbox

import (
	"time"

	"github.com/proctag/proctag/agent/internal/sandbox/instrument"
)

// Spec is one plugin as the sandbox loads it: the module, its grant and
// its limits. The agent maps it from its configuration (a plugins: entry
// or a manifest), whose defaults fill every field; Load reads it and never
// keeps a reference to its slices beyond what it copies.
type Spec struct {
	// Name identifies the plugin in logs, faults and errors.
	Name string
	// Path is the .wasm file, read when Wasm is nil.
	Path string
	// Wasm is the module when the caller read it already (a plugin
	// directory's file, checked by package dirtrust); nil = read Path.
	Wasm []byte
	// SHA256 pins the module's content: hex, optionally "sha256:"-prefixed,
	// any case; "" accepts any module.
	SHA256 string
	// Config is passed to the plugin's proctag_init.
	Config []byte
	// Capabilities is what the plugin may do: a subset of rename, tag,
	// drop; nil = tag. An empty list grants nothing, and the plugin is
	// refused: it could do nothing.
	Capabilities []string
	// TagPrefix is the prefix every tag key the plugin sets or removes must
	// have; required with the tag capability.
	TagPrefix string
	// Fields are the record fields the plugin may read, by their ABI names;
	// nil = abi.FieldsDefault, an empty list none. cmdline grants argv
	// too.
	Fields []string
	// Scope selects the processes the plugin may see.
	Scope Scope
	// Timeout is the limit for one call (a batch is one call); zero takes
	// a fallback of 100ms, since a call without a deadline could run
	// forever.
	Timeout time.Duration
	// InitTimeout is the limit for starting one instance: its start
	// function, _initialize, proctag_abi_version and proctag_init; zero
	// takes a fallback of 1s, for the same reason.
	InitTimeout time.Duration
	// MemoryLimitBytes caps each instance's linear memory.
	MemoryLimitBytes uint64
	// Instances is the size of the instance pool, at least one; zero
	// takes a fallback of 2, since an empty pool would block every call.
	Instances int
}

// Scope selects the processes a plugin sees. The zero value selects every
// process; UIDs and MatchRegex both apply when both are set.
type Scope struct {
	// UIDs, when not empty, limits the plugin to processes of these uids.
	UIDs []int
	// MatchRegex, when not "", limits the plugin to processes whose
	// MatchType field matches it (Go RE2 syntax, unanchored).
	MatchRegex string
	// MatchType is "process_name" (also "") or "cmdline".
	MatchType string
}

// Fallbacks for the Spec fields whose zero value would leave a guest
// unbounded or the pool unusable. The agent never relies on them: its
// configuration has the same defaults and always sets these fields.
const (
	fallbackTimeout     = 100 * time.Millisecond
	fallbackInitTimeout = time.Second
	fallbackInstances   = 2
)

// withFallbacks returns s with the fallbacks in its zero limits.
func (s Spec) withFallbacks() Spec {
	if s.Timeout <= 0 {
		s.Timeout = fallbackTimeout
	}
	if s.InitTimeout <= 0 {
		s.InitTimeout = fallbackInitTimeout
	}
	if s.Instances <= 0 {
		s.Instances = fallbackInstances
	}
	return s
}

// Limits are the structural limits every module is checked against before
// it compiles, its size and its call stack (plugin-limits in the agent's
// configuration, which maps them field by field). A zero field takes the
// fallback: instrument.DefaultLimits for the rewriter's limits, 32 MiB for
// MaxModuleBytes and 30s for CompileTimeout; each equals the
// configuration's default, and none of them may be zero (no limit, or
// refuse everything).
type Limits struct {
	// MaxModuleBytes bounds a .wasm file, checked before it is read.
	MaxModuleBytes int64
	// MaxFunctions bounds the functions of a module, imported and defined.
	MaxFunctions int
	// MaxFunctionBytes bounds the encoded size of one function body.
	MaxFunctionBytes int64
	// MaxNesting bounds the depth of nested block, loop and if in one
	// function.
	MaxNesting int
	// MaxLocals bounds the locals of one function, parameters included.
	MaxLocals int
	// MaxFunctionCost and MaxModuleCost bound what compiling a function
	// and the whole module costs (instrument.Limits explains the unit).
	MaxFunctionCost, MaxModuleCost int
	// MaxStackBytes is the call stack a guest may use.
	MaxStackBytes int64
	// MaxTableElements bounds a table's size, initial and grown.
	MaxTableElements int
	// CompileTimeout is the limit for compiling one module.
	CompileTimeout time.Duration
}

// Fallbacks for the Limits fields the rewriter does not own.
const (
	fallbackModuleBytes    = 32 << 20
	fallbackCompileTimeout = 30 * time.Second
)

// ModuleBytes is MaxModuleBytes, or its fallback when zero: what a caller
// that reads module files itself (a plugin directory) bounds them by.
func (l Limits) ModuleBytes() int64 {
	if l.MaxModuleBytes > 0 {
		return l.MaxModuleBytes
	}
	return fallbackModuleBytes
}

// compileTimeout is CompileTimeout, or its fallback.
func (l Limits) compileTimeout() time.Duration {
	if l.CompileTimeout > 0 {
		return l.CompileTimeout
	}
	return fallbackCompileTimeout
}

// instrument maps the limits to the rewriter's; a zero field takes
// instrument.DefaultLimits'.
func (l Limits) instrument() instrument.Limits {
	d := instrument.DefaultLimits()
	pick := func(v int64, def int64) int64 {
		if v <= 0 {
			return def
		}
		return v
	}
	return instrument.Limits{
		MaxFunctions:     int(pick(int64(l.MaxFunctions), int64(d.MaxFunctions))),
		MaxFunctionBytes: int(pick(l.MaxFunctionBytes, int64(d.MaxFunctionBytes))),
		MaxNesting:       int(pick(int64(l.MaxNesting), int64(d.MaxNesting))),
		MaxLocals:        int(pick(int64(l.MaxLocals), int64(d.MaxLocals))),
		MaxFunctionCost:  int(pick(int64(l.MaxFunctionCost), int64(d.MaxFunctionCost))),
		MaxModuleCost:    int(pick(int64(l.MaxModuleCost), int64(d.MaxModuleCost))),
		MaxTableElements: uint32(pick(int64(l.MaxTableElements), int64(d.MaxTableElements))),
		MaxStackBytes:    uint32(pick(l.MaxStackBytes, int64(d.MaxStackBytes))),
	}
}
