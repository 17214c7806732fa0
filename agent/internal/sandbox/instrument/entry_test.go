package instrument

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// fn is one function of a test module: its type index, its locals
// declaration and instructions (without the final end).
type fn struct {
	typ    byte
	locals []byte
	code   []byte
}

// funcsModule builds a module with types, one memory (max pages maxPages
// when > 0) and the functions, exporting function i as names[i] when it is
// not "".
func funcsModule(types [][]byte, maxPages int, names []string, fns ...fn) []byte {
	var decls, codes, exports [][]byte
	for i, f := range fns {
		decls = append(decls, []byte{f.typ})
		locals := f.locals
		if locals == nil {
			locals = []byte{0x00}
		}
		codes = append(codes, withSize(cat(locals, f.code, []byte{0x0b})))
		if i < len(names) && names[i] != "" {
			exports = append(exports, funcExport(names[i], byte(i)))
		}
	}
	mem := sec(secMemory, vec([]byte{0x00, 0x01}))
	if maxPages > 0 {
		mem = sec(secMemory, vec([]byte{0x01, 0x01, byte(maxPages)}))
	}
	return module(sec(secType, vec(types...)), sec(secFunction, vec(decls...)), mem,
		sec(secExport, vec(append(exports, cat(name("memory"), []byte{0x02, 0x00}))...)), sec(secCode, vec(codes...)))
}

var (
	tVoid   = []byte{0x60, 0x00, 0x00}             // () -> ()
	tI32I32 = []byte{0x60, 0x01, 0x7f, 0x01, 0x7f} // (i32) -> i32
	tI32Two = []byte{0x60, 0x01, 0x7f, 0x02, 0x7f, 0x7e}
)

func instrumented(t *testing.T, wasm []byte) []byte {
	t.Helper()
	res, err := Module(wasm, DefaultLimits())
	if err != nil {
		t.Fatalf("Module: %v", err)
	}
	return res.Wasm
}

// whileGC runs garbage collections until the test's function returns, so
// that a guest that never exits to the host would hang the test.
func whileGC(t *testing.T) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
}

func TestRecursionWithoutLoopsIsStopped(t *testing.T) {
	// f(n) = n == 0 ? 0 : f(n-1) + f(n-1): 2^48 calls and no loop.
	fib := fn{typ: 1, code: []byte{
		0x20, 0x00, 0x45, 0x04, 0x40, 0x41, 0x00, 0x0f, 0x0b, // if n == 0 return 0
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00, // f(n-1)
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00, // f(n-1)
		0x6a,
	}}
	wasm := instrumented(t, funcsModule([][]byte{tVoid, tI32I32}, 0, []string{"f"}, fib))
	rt := newRuntime(t)
	m := instantiate(t, rt, wasm)
	got, err := m.ExportedFunction("f").Call(t.Context(), 10)
	if err != nil || got[0] != 0 {
		t.Fatalf("f(10) = %v, %v; want 0", got, err)
	}
	whileGC(t)
	stop := m.ExportedGlobal(StopExport).(api.MutableGlobal)
	timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
	defer timer.Stop()
	if _, err := m.ExportedFunction("f").Call(t.Context(), 48); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("f(48) = %v, want an unreachable trap once stop is set", err)
	}
}

func TestStackBudget(t *testing.T) {
	// down(n) = down(n+1): unbounded recursion.
	down := fn{typ: 1, code: []byte{0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x00}}
	orig := funcsModule([][]byte{tVoid, tI32I32}, 0, []string{"down"}, down)
	lim := DefaultLimits()
	lim.MaxStackBytes = 64 << 10
	res, err := Module(orig, lim)
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t)
	m := instantiate(t, rt, res.Wasm)
	_, err = m.ExportedFunction("down").Call(t.Context(), 0)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("down(0) = %v, want an unreachable trap, not the engine's stack overflow", err)
	}
	if f := m.ExportedGlobal(FaultExport).Get(); f != FaultStack {
		t.Errorf("fault global = %d, want FaultStack", f)
	}
}

func TestRewritePreservesResults(t *testing.T) {
	// pick(n) returns (n, 7) from inside two blocks when n == 1, branches
	// to the function's label with (n*2, 8) when n == 2 (br_table), and
	// falls off the end with (n+100, 9) otherwise.
	pick := fn{typ: 1, code: []byte{
		0x02, 0x40, 0x02, 0x40,
		0x20, 0x00, 0x41, 0x01, 0x46, 0x04, 0x40, 0x20, 0x00, 0x42, 0x07, 0x0f, 0x0b, // if n == 1 return (n, 7)
		0x20, 0x00, 0x41, 0x02, 0x46, 0x04, 0x40,
		0x20, 0x00, 0x41, 0x02, 0x6c, 0x42, 0x08, 0x41, 0x00, 0x0e, 0x00, 0x03, // br_table [] 3: the function's label
		0x0b,
		0x0b, 0x0b,
		0x20, 0x00, 0x41, 0xe4, 0x00, 0x6a, 0x42, 0x09,
	}}
	orig := funcsModule([][]byte{tVoid, tI32Two}, 0, []string{"pick"}, pick)
	rt := newRuntime(t)
	a, b := instantiate(t, rt, orig), instantiate(t, rt, instrumented(t, orig))
	for _, n := range []uint64{1, 2, 3} {
		want, err := a.ExportedFunction("pick").Call(t.Context(), n)
		if err != nil {
			t.Fatalf("original pick(%d): %v", n, err)
		}
		got, err := b.ExportedFunction("pick").Call(t.Context(), n)
		if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("instrumented pick(%d) = %v, %v; the original gives %v", n, got, err, want)
		}
	}
}

func TestGrowFailureIsRecorded(t *testing.T) {
	// grow(n) = memory.grow(n), in a memory of at most 3 pages.
	grow := fn{typ: 1, code: []byte{0x20, 0x00, 0x40, 0x00}}
	wasm := instrumented(t, funcsModule([][]byte{tVoid, tI32I32}, 3, []string{"grow"}, grow))
	rt := newRuntime(t)
	m := instantiate(t, rt, wasm)
	fault := m.ExportedGlobal(FaultExport)
	if got, err := m.ExportedFunction("grow").Call(t.Context(), 1); err != nil || got[0] != 1 || fault.Get() != 0 {
		t.Fatalf("grow(1) = %v, %v, fault %d; want the old size 1 and no fault", got, err, fault.Get())
	}
	if got, err := m.ExportedFunction("grow").Call(t.Context(), 5); err != nil || int32(got[0]) != -1 || fault.Get() != FaultGrow {
		t.Fatalf("grow(5) = %v, %v, fault %d; want -1 and FaultGrow", got, err, fault.Get())
	}
}

func TestStartFunctionIsExported(t *testing.T) {
	// The start function stores 1 at address 0.
	set := fn{typ: 0, code: []byte{0x41, 0x00, 0x41, 0x01, 0x36, 0x02, 0x00}}
	orig := funcsModule([][]byte{tVoid}, 0, nil, set)
	orig = append(orig[:len(orig)-len(sec(secCode, vec(withSize(cat([]byte{0x00}, set.code, []byte{0x0b})))))],
		cat(sec(secStart, []byte{0x00}), sec(secCode, vec(withSize(cat([]byte{0x00}, set.code, []byte{0x0b})))))...)
	res, err := Module(orig, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasStart {
		t.Error("HasStart = false")
	}
	rt := newRuntime(t)
	m := instantiate(t, rt, res.Wasm)
	if v, _ := m.Memory().ReadUint32Le(0); v != 0 {
		t.Fatal("the start function ran at instantiation")
	}
	if _, err := m.ExportedFunction(StartExport).Call(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Memory().ReadUint32Le(0); v != 1 {
		t.Error("calling the exported start function did not run it")
	}
}

func TestLimits(t *testing.T) {
	nested := func(depth int) []byte {
		var code []byte
		for range depth {
			code = append(code, 0x02, 0x40)
		}
		for range depth {
			code = append(code, 0x0b)
		}
		return code
	}
	one := func(f fn) []byte { return funcsModule([][]byte{tVoid, tI32I32}, 0, nil, f) }
	many := func(n int) []byte {
		fns := make([]fn, n)
		return funcsModule([][]byte{tVoid}, 0, nil, fns...)
	}
	elems := func(n byte) []byte { // one passive segment of n ref.null
		seg := []byte{0x05, 0x70, n}
		for range n {
			seg = append(seg, 0xd0, 0x70, 0x0b)
		}
		return module(typeVoid, mem1, sec(secElement, vec(seg)))
	}
	tables := func(min byte) []byte {
		return module(typeVoid, sec(secTable, vec([]byte{0x70, 0x00, min})), mem1)
	}
	tests := []struct {
		name  string
		wasm  []byte
		limit string // "" = accepted
	}{
		{"nesting at the limit", one(fn{code: nested(8)}), ""},
		{"nesting over the limit", one(fn{code: nested(9)}), "max-nesting"},
		{"locals at the limit", one(fn{typ: 1, locals: []byte{0x01, 19, 0x7f}}), ""},
		{"locals over the limit, parameters included", one(fn{typ: 1, locals: []byte{0x01, 20, 0x7f}}), "max-locals"},
		{"locals over the limit in a huge declaration", one(fn{locals: []byte{0x02, 0x01, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7e}}), "max-locals"},
		{"body over the limit", one(fn{code: make([]byte, 1000)}), "max-function-size"},
		// (1 param + 9 locals + 1) × (1 block + 18 br_if) = 11 × 19 = 209, over 200
		{"cost over the limit", one(fn{typ: 1, locals: []byte{0x01, 9, 0x7f}, code: cat([]byte{0x02, 0x40}, bytes.Repeat([]byte{0x20, 0x00, 0x0d, 0x00}, 18), []byte{0x0b, 0x20, 0x00})}), "max-function-cost"},
		{"cost at the limit", one(fn{typ: 1, locals: []byte{0x01, 8, 0x7f}, code: cat([]byte{0x02, 0x40}, bytes.Repeat([]byte{0x20, 0x00, 0x0d, 0x00}, 19), []byte{0x0b, 0x20, 0x00})}), ""},
		{"the module's cost", funcsModule([][]byte{tVoid, tI32I32}, 0, nil, slices.Repeat([]fn{{typ: 1, locals: []byte{0x01, 8, 0x7f}, code: cat([]byte{0x02, 0x40}, bytes.Repeat([]byte{0x20, 0x00, 0x0d, 0x00}, 19), []byte{0x0b, 0x20, 0x00})}}, 6)...), "max-module-cost"},
		{"elements at the limit", elems(50), ""},
		{"elements over the limit, with no table", elems(51), "max-table-elements"},
		{"a br_table's targets count", one(fn{typ: 1, code: cat([]byte{0x02, 0x40, 0x20, 0x00, 0x0e, 100}, bytes.Repeat([]byte{0x00}, 101), []byte{0x0b, 0x20, 0x00})}), "max-function-cost"},
		{"functions at the limit", many(100), ""},
		{"functions over the limit", many(101), "max-functions"},
		{"table at the limit", tables(50), ""},
		{"table over the limit", tables(51), "max-table-elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Module(tt.wasm, lim)
			le, isLimit := errors.AsType[*LimitError](err)
			switch {
			case tt.limit == "" && err != nil:
				t.Fatalf("Module: %v", err)
			case tt.limit != "" && (!isLimit || le.Limit != tt.limit):
				t.Fatalf("Module error = %v, want a LimitError for %s", err, tt.limit)
			case tt.limit != "" && !strings.Contains(err.Error(), tt.limit):
				t.Errorf("error %q does not name %s", err, tt.limit)
			}
		})
	}
}

// TestBulkMemoryIsStopped runs straight-line code, no loop and no call,
// whose every instruction is a bulk memory operation over 16 MiB: each
// takes a millisecond or more, and a function body of a megabyte holds
// tens of thousands. The stop global must end it at the next operation
// once set, not when the body ends.
func TestBulkMemoryIsStopped(t *testing.T) {
	const ops = 2000
	for _, tt := range []struct {
		name string
		op   []byte // dst, src or value, length pushed before it
	}{
		{"memory.fill", []byte{0xfc, 0x0b, 0x00}},
		{"memory.copy", []byte{0xfc, 0x0a, 0x00, 0x00}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code := []byte{0x41, 0xff, 0x01, 0x40, 0x00, 0x1a} // memory.grow 255 pages: 16 MiB
			for range ops {
				code = append(code, 0x41, 0x00, 0x41, 0x00, 0x41, 0x80, 0x80, 0x80, 0x08) // 0, 0, 16 MiB
				code = append(code, tt.op...)
			}
			wasm := instrumented(t, funcsModule([][]byte{tVoid}, 0, []string{"f"}, fn{typ: 0, code: code}))
			m := instantiate(t, newRuntime(t), wasm)
			stop := m.ExportedGlobal(StopExport).(api.MutableGlobal)
			timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
			defer timer.Stop()
			if _, err := m.ExportedFunction("f").Call(t.Context()); err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("%d × %s of 16 MiB = %v, want an unreachable trap once stop is set", ops, tt.name, err)
			}
		})
	}
}

// TestHostCallsAreStopped runs straight-line code, no loop, that calls a
// host function thousands of times, each a millisecond: the stop global
// must end it after the host call during which it was set.
func TestHostCallsAreStopped(t *testing.T) {
	const calls = 5000
	var code []byte
	for range calls {
		code = append(code, 0x10, 0x00) // call the import
	}
	wasm := instrumented(t, module(typeVoid,
		sec(secImport, vec(cat(name("env"), name("slow"), []byte{0x00, 0x00}))),
		oneFunc, mem1,
		sec(secExport, vec(funcExport("f", 1))),
		sec(secCode, vec(body(code...)))))
	rt := newRuntime(t)
	if _, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func() { time.Sleep(time.Millisecond) }).Export("slow").
		Instantiate(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := instantiate(t, rt, wasm)
	stop := m.ExportedGlobal(StopExport).(api.MutableGlobal)
	timer := time.AfterFunc(20*time.Millisecond, func() { stop.Set(1) })
	defer timer.Stop()
	if _, err := m.ExportedFunction("f").Call(t.Context()); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("%d host calls of a millisecond = %v, want an unreachable trap once stop is set", calls, err)
	}
}
