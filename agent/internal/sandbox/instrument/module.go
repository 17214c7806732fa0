package instrument

import (
	"bytes"
)

// Names of what the rewriter adds to a module. A module that already
// exports or imports a name starting with ReservedPrefix is refused.
const (
	// ReservedPrefix starts every name the rewriter adds.
	ReservedPrefix = "__proctag_"
	// StopExport is the mutable i32 global the host sets to 1 to stop the
	// guest: it traps at its next check.
	StopExport = "__proctag_stop"
	// FaultExport is the i32 global the guest's instrumented code sets
	// just before it traps for a reason the host classifies: FaultStack or
	// FaultGrow.
	FaultExport = "__proctag_fault"
	// StartExport is the module's start function, exported instead of
	// run at instantiation (when the host could not stop it yet). The host
	// calls it first, under a deadline.
	StartExport = "__proctag_start"
)

// Values of the FaultExport global.
const (
	// FaultStack: a function entry found the call stack budget
	// (Limits.MaxStackBytes) used up.
	FaultStack = 1
	// FaultGrow: a memory.grow failed (over the host's cap or the module's
	// maximum). The guest may handle that; the global only says why it
	// trapped if it did.
	FaultGrow = 2
)

// Result is an instrumented module.
type Result struct {
	// Wasm is the instrumented binary.
	Wasm []byte
	// Loops and Functions count the loops and function bodies
	// instrumented.
	Loops, Functions int
	// HasStart reports that the module had a start function, now exported
	// as StartExport.
	HasStart bool
}

// wasmModule is a parsed module: its sections and what the rewrite needs to
// know of them.
type wasmModule struct {
	secs           []section
	types          []funcType
	funcTypes      []uint32 // type index of each defined function
	importedFuncs  uint32
	globals        uint32 // imported and defined
	definedGlobals uint32
	memories       uint32
	start          int64 // start function index, or -1
	hasGlobal      bool
	hasExport      bool
}

type funcType struct {
	params, results []byte
}

// Module returns an instrumented copy of the binary module wasm, checked
// against lim. wasm is not modified. Errors wrap ErrMalformed or
// ErrUnsupported, or are a *LimitError.
//
// The copy gets four mutable i32 globals after the module's own: stop
// (exported as StopExport), fuel, stack and fault (exported as
// FaultExport). Every loop header and every function entry checks stop
// (every Fuel checks, with an exit to the host); every function entry
// charges its FrameBytes against lim.MaxStackBytes and its exit refunds
// them; every memory.grow goes through a helper function that records a
// failure in fault. A start function is exported as StartExport instead,
// and every table's maximum is lowered to lim.MaxTableElements.
func Module(wasm []byte, lim Limits) (*Result, error) {
	m, err := parse(wasm, lim)
	if err != nil {
		return nil, err
	}
	if m.memories == 0 {
		return nil, unsupported("the module has no memory")
	}
	if m.memories > 1 {
		return nil, unsupported("the module has %d memories", m.memories)
	}
	g := globals{stop: m.globals, fuel: m.globals + 1, stack: m.globals + 2, fault: m.globals + 3}
	rw := &rewriter{m: m, lim: lim, g: g, growFunc: m.importedFuncs + uint32(len(m.funcTypes)), check: loopCheck(g.stop, g.fuel)}
	res := &Result{HasStart: m.start >= 0}
	var code []byte
	for _, s := range m.secs {
		if s.id == secCode {
			if code, err = rw.code(s.body); err != nil {
				return nil, err
			}
		}
	}
	if len(m.funcTypes) > 0 && code == nil {
		return nil, malformed("%d functions declared, no code section", len(m.funcTypes))
	}
	res.Loops, res.Functions = rw.loops, len(m.funcTypes)
	growType := uint32(0)
	if rw.usesGrow {
		growType = rw.typeIndex(funcType{params: []byte{0x7f}, results: []byte{0x7f}})
	}

	out := make([]byte, 0, len(wasm)+len(wasm)/8+256)
	out = append(out, header...)
	emitted := map[byte]bool{}
	// addMissing adds the sections the rewrite needs that the module lacks,
	// each at its place before a section of rank beforeRank.
	addMissing := func(beforeRank int) {
		if len(rw.newTypes) > 0 && len(m.types) == 0 && !emitted[secType] && beforeRank > order[secType] {
			emitted[secType] = true
			out = appendSection(out, secType, appendTypes(appendU32(nil, uint32(len(rw.newTypes))), rw.newTypes))
		}
		if !m.hasGlobal && !emitted[secGlobal] && beforeRank > order[secGlobal] {
			emitted[secGlobal] = true
			out = appendSection(out, secGlobal, appendGlobals(appendU32(nil, 4)))
		}
		if !m.hasExport && !emitted[secExport] && beforeRank > order[secExport] {
			emitted[secExport] = true
			out = appendSection(out, secExport, rw.appendExports(appendU32(nil, rw.exportCount(0)), nil))
		}
	}
	for _, s := range m.secs {
		if s.id != secCustom {
			addMissing(order[s.id])
		}
		body := s.body
		switch s.id {
		case secCustom:
			// Dropped, all of them: DWARF's code offsets move, and none is
			// needed to run. A name section would put the module's own
			// text (up to its size) into every trap's stack trace, hence
			// into the agent's log, and costs the engine memory per name.
			continue
		case secType:
			body = appendTypes(bytes.Clone(s.body), rw.newTypes)
			body = replaceCount(body, uint32(len(m.types)+len(rw.newTypes)))
		case secFunction:
			if rw.usesGrow {
				body = appendU32(replaceCount(bytes.Clone(s.body), uint32(len(m.funcTypes)+1)), growType)
			}
		case secTable:
			if body, err = lowerTables(s.body, lim.MaxTableElements); err != nil {
				return nil, err
			}
		case secGlobal:
			body = appendGlobals(replaceCount(bytes.Clone(s.body), m.definedGlobals+4))
		case secExport:
			r := reader{b: s.body}
			n, _ := r.u32() // checked by parse
			body = rw.appendExports(appendU32(nil, rw.exportCount(n)), s.body[r.pos:])
		case secStart:
			continue
		case secCode:
			body = code
		}
		out = appendSection(out, s.id, body)
	}
	addMissing(order[secData] + 1)
	res.Wasm = out
	return res, nil
}

// globals are the indexes of the four globals the rewriter adds.
type globals struct {
	stop, fuel, stack, fault uint32
}

// appendGlobals appends the four added globals' entries (mutable i32 = 0).
func appendGlobals(b []byte) []byte {
	for range 4 {
		b = append(b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
	}
	return b
}

func appendExport(b []byte, name string, kind byte, idx uint32) []byte {
	b = appendU32(b, uint32(len(name)))
	b = append(b, name...)
	b = append(b, kind)
	return appendU32(b, idx)
}

func appendTypes(b []byte, types []funcType) []byte {
	for _, t := range types {
		b = append(b, 0x60)
		b = appendU32(b, uint32(len(t.params)))
		b = append(b, t.params...)
		b = appendU32(b, uint32(len(t.results)))
		b = append(b, t.results...)
	}
	return b
}

// replaceCount replaces the leading vector count of a section body.
func replaceCount(body []byte, n uint32) []byte {
	r := reader{b: body}
	_, _ = r.u32() // checked by parse
	return append(appendU32(nil, n), body[r.pos:]...)
}

// lowerTables rewrites a table section so that no table's maximum exceeds
// max; a table whose initial size does is refused.
func lowerTables(body []byte, max uint32) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := range n {
		t, err := r.byte()
		if err != nil {
			return nil, err
		}
		if t != 0x70 && t != 0x6f {
			return nil, malformed("table %d of type %#x", i, t)
		}
		min, tmax, err := r.tableLimits()
		if err != nil {
			return nil, err
		}
		if err := overLimit("max-table-elements", "table "+itoa(i)+"'s initial size", uint64(min), uint64(max)); err != nil {
			return nil, err
		}
		out = append(out, t, 0x01)
		out = appendU32(out, min)
		out = appendU32(out, minU32(tmax, max))
	}
	if !r.done() {
		return nil, malformed("table section has %d trailing bytes", len(r.b)-r.pos)
	}
	return out, nil
}

func minU32(a, b uint32) uint32 {
	if a < b {
		return a
	}
	return b
}
