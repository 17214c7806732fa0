package instrument

import "fmt"

// Limits bound a module's structure, checked before anything compiles it,
// and the call stack its code may use, checked by the code itself. Every
// limit is a cost a hostile module could otherwise impose on the host:
// compile time grows with the nesting depth of one function (quadratically
// in wazero's compiler) and with the number of functions, the engine's
// memory with locals, table elements and call depth.
type Limits struct {
	// MaxFunctions bounds the functions of a module, imported and defined.
	MaxFunctions int
	// MaxFunctionBytes bounds the encoded size of one function body.
	MaxFunctionBytes int
	// MaxNesting bounds the depth of nested block, loop and if in one
	// function.
	MaxNesting int
	// MaxLocals bounds the locals of one function, its parameters included.
	MaxLocals int
	// MaxFunctionCost bounds (params + locals + 1) × branches of one
	// function, counting block, loop, if, else, br, br_if and each
	// br_table target. The compiler merges every local at every branch
	// target: measured on wazero 1.12, 1000 locals × 1000 branches compile
	// in 1.5–4 s, 10,000 × 1,000 in minutes, and a function cannot be
	// interrupted while it compiles.
	MaxFunctionCost int
	// MaxModuleCost bounds the sum of every function's cost: 64 functions
	// of 512 locals × 512 branches compile in 14 s on two workers.
	MaxModuleCost int
	// MaxTableElements bounds a table's size, initial and grown: the
	// maximum of every table is lowered to it.
	MaxTableElements uint32
	// MaxStackBytes is the call stack a guest may use. Every function
	// entry adds the function's frame bound (FrameBytes) to a running
	// total and traps when the total passes MaxStackBytes; its exit takes
	// it off again.
	MaxStackBytes uint32
}

// DefaultLimits are generous for real plugins: a Go 1.26 plugin of 2 MB
// has about 1,400 functions, bodies up to 13 KB, nesting up to 300, at
// most 17 locals, a function cost of at most 14,000 and a module cost of
// 880,000, br_tables of at most 535 targets, and its call stack stays far
// below 4 MiB (Go keeps goroutine stacks in linear memory).
func DefaultLimits() Limits {
	return Limits{
		MaxFunctions:     50_000,
		MaxFunctionBytes: 1 << 20,
		MaxNesting:       1024,
		MaxLocals:        10_000,
		MaxFunctionCost:  1 << 18,
		MaxModuleCost:    1 << 23,
		MaxTableElements: 100_000,
		MaxStackBytes:    4 << 20,
	}
}

// Fixed bounds on the number of items of the other kinds, each far above
// what a compiler emits and each small enough that the engine's per-item
// memory stays in the megabytes.
const (
	// maxBrTableTargets bounds the br_table targets of one function: the
	// compiler keeps about 2.3 KB per target (340,000 targets: 790 MB).
	maxBrTableTargets = 16384
	maxTypes          = 100_000
	maxImports        = 10_000
	maxGlobals        = 100_000
	maxExports        = 100_000
	maxTables         = 100
	maxSegments       = 100_000
)

// LimitError reports a module over one of its limits.
type LimitError struct {
	// Limit names the limit: the plugin-limits key of a Limits field
	// (max-nesting, max-locals, ...) or the fixed bound's name.
	Limit string
	// What is what was counted, e.g. "function 12's nesting depth".
	What string
	// Got is the module's value, Max the limit.
	Got, Max uint64
}

// Error returns "WHAT is GOT, over the limit LIMIT of MAX".
func (e *LimitError) Error() string {
	return fmt.Sprintf("%s is %d, over the limit %s of %d", e.What, e.Got, e.Limit, e.Max)
}

func overLimit(limit, what string, got, max uint64) error {
	if got <= max {
		return nil
	}
	return &LimitError{Limit: limit, What: what, Got: got, Max: max}
}

// FrameBytes is the call stack a function is charged for: a fixed part,
// 8 bytes per parameter and local, and 8 bytes per instruction, since every
// value an instruction produces may be spilled to the frame. Measured on
// wazero 1.12's compiler (amd64): a recursive function keeping n values
// alive across its call uses about 32 + 11n bytes per frame, and each of
// those values takes at least three instructions, so the charge is at
// least twice the real frame.
func FrameBytes(params, locals, instructions uint64) uint64 {
	return 64 + 8*(params+locals) + 8*instructions
}
