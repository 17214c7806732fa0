package instrument

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
)

// lim is DefaultLimits with a small stack, so that frames are easy to
// count in tests.
var lim = Limits{MaxFunctions: 100, MaxFunctionBytes: 1000, MaxNesting: 8, MaxLocals: 20, MaxFunctionCost: 200, MaxModuleCost: 1000, MaxTableElements: 50, MaxStackBytes: 4096}

// entryCode and exitCode restate the layout Module documents, for globals
// after the module's n: stop n, fuel n+1, stack n+2, fault n+3.
func entryCode(n byte, frame int64) []byte { return cat(entryCharge(n, frame), stopCheck(n)) }

// entryCharge is the entry of a function that enters a loop first: the
// stack charge alone (see loopFirst).
func entryCharge(n byte, frame int64) []byte {
	return cat([]byte{0x23, n + 2, 0x41}, appendS33(nil, frame), []byte{0x6a, 0x24, n + 2},
		[]byte{0x23, n + 2, 0x41}, appendS33(nil, int64(lim.MaxStackBytes)), []byte{0x4b, 0x04, 0x40, 0x41, FaultStack, 0x24, n + 3, 0x00, 0x0b})
}

func exitCode(n byte, frame int64) []byte {
	return cat([]byte{0x23, n + 2, 0x41}, appendS33(nil, frame), []byte{0x6b, 0x24, n + 2})
}

// hostExports are the export entries Module adds for globals after n.
func hostExports(n byte) [][]byte {
	return [][]byte{cat(name(StopExport), []byte{0x03, n}), cat(name(FaultExport), []byte{0x03, n + 3})}
}

func TestModuleRewrites(t *testing.T) {
	importGlobals := sec(secImport, vec(
		cat(name("env"), name("g0"), []byte{0x03, 0x7f, 0x00}),
		cat(name("env"), name("f"), []byte{0x00, 0x00}),
		cat(name("env"), name("t"), []byte{0x01, 0x70, 0x00, 0x01}),
		cat(name("env"), name("m"), []byte{0x02, 0x01, 0x01, 0x02}),
		cat(name("env"), name("g1"), []byte{0x03, 0x7e, 0x01}),
	))
	oneGlobal := []byte{0x7e, 0x00, 0x42, 0x07, 0x0b}
	four := [][]byte{stopGlobal, stopGlobal, stopGlobal, stopGlobal}
	tests := []struct {
		name      string
		in, want  []byte
		wantLoops int
	}{
		{
			name: "no global or export section: both are created in order",
			in:   module(typeVoid, oneFunc, mem1, sec(secCode, vec(body(0x03, 0x40, 0x0c, 0x00, 0x0b)))),
			want: module(typeVoid, oneFunc, mem1, sec(secGlobal, vec(four...)), sec(secExport, vec(hostExports(0)...)),
				sec(secCode, vec(body(cat(entryCharge(0, 64+8*4), []byte{0x02, 0x40, 0x03, 0x40}, stopCheck(0), []byte{0x0c, 0x00, 0x0b, 0x0b}, exitCode(0, 64+8*4))...)))),
			wantLoops: 1,
		},
		{
			name: "imported and defined globals come before the added ones",
			in: module(typeVoid, importGlobals, oneFunc, sec(secGlobal, vec(oneGlobal)),
				sec(secExport, vec(funcExport("run", 1))), sec(secCode, vec(body()))),
			want: module(typeVoid, importGlobals, oneFunc, sec(secGlobal, vec(oneGlobal, stopGlobal, stopGlobal, stopGlobal, stopGlobal)),
				sec(secExport, vec(append([][]byte{funcExport("run", 1)}, hostExports(3)...)...)),
				sec(secCode, vec(body(cat(entryCode(3, 64+8), []byte{0x02, 0x40, 0x0b}, exitCode(3, 64+8))...)))),
		},
		{
			name: "custom sections are dropped, debug and name sections alike",
			in: module(sec(secCustom, name(".debug_info")), typeVoid, sec(secCustom, cat(name("name"), []byte{1, 2})),
				oneFunc, mem1, sec(secCode, vec(body())), sec(secCustom, cat(name(".debug_line"), []byte{9}))),
			want: module(typeVoid,
				oneFunc, mem1, sec(secGlobal, vec(four...)), sec(secExport, vec(hostExports(0)...)),
				sec(secCode, vec(body(cat(entryCode(0, 64+8), []byte{0x02, 0x40, 0x0b}, exitCode(0, 64+8))...)))),
		},
		{
			name: "return is a branch to the wrapping block, memory.grow a call to the helper",
			in: module(typeI32, sec(secFunction, vec([]byte{0x01})), mem1, sec(secCode, vec(body(
				0x02, 0x40, 0x20, 0x00, 0x0f, 0x0b, // block local.get 0 return end
				0x20, 0x00, 0x40, 0x00, // local.get 0 memory.grow 0
			)))),
			want: module(typeI32, sec(secFunction, vec([]byte{0x01}, []byte{0x01})), mem1, sec(secGlobal, vec(four...)),
				sec(secExport, vec(hostExports(0)...)), sec(secCode, vec(
					body(cat(entryCode(0, 64+8+8*7), []byte{0x02, 0x7f,
						0x02, 0x40, 0x20, 0x00, 0x0c, 0x01, 0x0b,
						0x20, 0x00, 0x10, 0x01,
						0x0b}, exitCode(0, 64+8+8*7))...),
					withSize([]byte{0x01, 0x01, 0x7f, 0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, FaultGrow, 0x24, 0x03, 0x0b, 0x20, 0x01, 0x0b}),
				))),
		},
		{
			name: "a start function is exported, not run; tables are lowered to the limit",
			in: module(typeVoid, oneFunc, sec(secTable, vec([]byte{0x70, 0x00, 0x02}, []byte{0x70, 0x01, 0x01, 0x05})), mem1,
				sec(secStart, []byte{0x00}), sec(secCode, vec(body()))),
			want: module(typeVoid, oneFunc, sec(secTable, vec([]byte{0x70, 0x01, 0x02, 50}, []byte{0x70, 0x01, 0x01, 0x05})), mem1,
				sec(secGlobal, vec(four...)), sec(secExport, vec(append(hostExports(0), cat(name(StartExport), []byte{0x00, 0x00}))...)),
				sec(secCode, vec(body(cat(entryCode(0, 64+8), []byte{0x02, 0x40, 0x0b}, exitCode(0, 64+8))...)))),
		},
		{
			name: "nested loops, typed blocks and every kind of immediate",
			in: module(typeI32, sec(secFunction, vec([]byte{0x01})), mem1, sec(secCode, vec(body(
				0x02, 0x40, // block
				0x03, 0x7f, // loop (result i32)
				0x03, 0x01, // loop (type 1)
				0x0e, 0x02, 0x00, 0x01, 0x02, // br_table 0 1 2
				0x0b,
				0x0b,
				0x0b,
				0x41, 0x80, 0x80, 0x80, 0x80, 0x78, // i32.const min
				0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, // i64.const
				0x43, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, // f32.const f64.const
				0x28, 0x02, 0x80, 0x01, // i32.load align 2 offset 128
				0x3f, 0x00, // memory.size
				0xfc, 0x00, 0xfc, 0x0a, 0x00, 0x00, 0xfc, 0x0b, 0x00, // trunc_sat memory.copy memory.fill
				0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00, // memory.init data.drop
				0x11, 0x00, 0x00, // call_indirect
				0x1c, 0x01, 0x7f, // select i32
				0xd0, 0x70, 0xd1, 0xd2, 0x00, // ref.null ref.is_null ref.func
				0xc0, 0xc4, // sign extension
				0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const
				0xfd, 0x15, 0x03, 0xfd, 0x54, 0x00, 0x00, 0x01, 0xfd, 0x6e, // extract_lane, load8_lane, i8x16.add
				0x04, 0x40, 0x05, 0x0b, // if else end
			)))),
			want: module(typeI32, sec(secFunction, vec([]byte{0x01})), mem1, sec(secGlobal, vec(four...)),
				// The bulk operations add a local, the length's scratch
				// (index 1, after the parameter), to the frame.
				sec(secExport, vec(hostExports(0)...)), sec(secCode, vec(bodyLocals([]byte{0x01, 0x01, 0x7f}, cat(
					entryCharge(0, 64+8+8*34), []byte{0x02, 0x7f},
					[]byte{0x02, 0x40, 0x03, 0x7f}, stopCheck(0),
					[]byte{0x03, 0x01}, stopCheck(0),
					[]byte{0x0e, 0x02, 0x00, 0x01, 0x02, 0x0b, 0x0b, 0x0b,
						0x41, 0x80, 0x80, 0x80, 0x80, 0x78,
						0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
						0x43, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0,
						0x28, 0x02, 0x80, 0x01, 0x3f, 0x00,
						0xfc, 0x00}, bulkCheck(0, 1), []byte{0xfc, 0x0a, 0x00, 0x00}, bulkCheck(0, 1), []byte{0xfc, 0x0b, 0x00},
					bulkCheck(0, 1), []byte{0xfc, 0x08, 0x00, 0x00, 0xfc, 0x09, 0x00,
						0x11, 0x00, 0x00, 0x1c, 0x01, 0x7f, 0xd0, 0x70, 0xd1, 0xd2, 0x00,
						0xc0, 0xc4,
						0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						0xfd, 0x15, 0x03, 0xfd, 0x54, 0x00, 0x00, 0x01, 0xfd, 0x6e,
						0x04, 0x40, 0x05, 0x0b, 0x0b}, exitCode(0, 64+8+8*34))...)))),
			wantLoops: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Clone(tt.in)
			got, err := Module(in, lim)
			if err != nil {
				t.Fatalf("Module: %v", err)
			}
			if !bytes.Equal(got.Wasm, tt.want) {
				t.Errorf("Module =\n% x\nwant\n% x", got.Wasm, tt.want)
			}
			if got.Loops != tt.wantLoops {
				t.Errorf("loops = %d, want %d", got.Loops, tt.wantLoops)
			}
			if !bytes.Equal(in, tt.in) {
				t.Error("Module modified its input")
			}
		})
	}
}

func TestModuleRefuses(t *testing.T) {
	code := func(instrs ...byte) []byte {
		return module(typeVoid, oneFunc, mem1, sec(secCode, vec(body(instrs...))))
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty input", nil, ErrMalformed},
		{"wrong magic", []byte("\x00wasm\x01\x00\x00\x00"), ErrMalformed},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), ErrMalformed},
		{"truncated section", module(typeVoid)[:12], ErrMalformed},
		{"unknown section", module(sec(13, nil)), ErrMalformed},
		{"sections out of order", module(oneFunc, typeVoid), ErrMalformed},
		{"duplicate section", module(typeVoid, typeVoid), ErrMalformed},
		{"no memory", module(typeVoid, oneFunc, sec(secCode, vec(body()))), ErrUnsupported},
		{"already exports the stop name", module(typeVoid, oneFunc, mem1, sec(secExport, vec(funcExport(StopExport, 0))), sec(secCode, vec(body()))), ErrUnsupported},
		{"exports a reserved name", module(typeVoid, oneFunc, mem1, sec(secExport, vec(funcExport("__proctag_x", 0))), sec(secCode, vec(body()))), ErrUnsupported},
		{"imports a reserved name", module(typeVoid, sec(secImport, vec(cat(name("env"), name(StartExport), []byte{0x00, 0x00}))), mem1), ErrUnsupported},
		{"two memories", module(typeVoid, oneFunc, sec(secMemory, vec([]byte{0x00, 0x01}, []byte{0x00, 0x01})), sec(secCode, vec(body()))), ErrUnsupported},
		{"truncated SIMD constant", code(0xfd, 0x0c, 0x00), ErrMalformed},
		{"threads instruction", code(0xfe, 0x00), ErrUnsupported},
		{"tail call", code(0x12, 0x00), ErrUnsupported},
		{"unknown opcode", code(0xd3), ErrUnsupported},
		{"unknown 0xfc sub-opcode", code(0xfc, 0x12), ErrUnsupported},
		{"second memory in memarg", code(0x28, 0x40, 0x01, 0x00), ErrUnsupported},
		{"memory.grow on memory 1", code(0x40, 0x01), ErrUnsupported},
		{"shared memory import", module(sec(secImport, vec(cat(name("e"), name("m"), []byte{0x02, 0x03, 0x01, 0x01})))), ErrUnsupported},
		{"over-long block type index", code(0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b), ErrMalformed},
		{"i32.const too long", code(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), ErrMalformed},
		{"body without end", module(typeVoid, oneFunc, mem1, sec(secCode, vec([]byte{0x02, 0x00, 0x01}))), ErrMalformed},
		{"bytes after the final end", module(typeVoid, oneFunc, mem1, sec(secCode, vec([]byte{0x03, 0x00, 0x0b, 0x01}))), ErrMalformed},
		{"truncated f64.const", code(0x44, 0x00), ErrMalformed},
		{"bad value type in locals", module(typeVoid, oneFunc, mem1, sec(secCode, vec([]byte{0x04, 0x01, 0x01, 0x55, 0x0b}))), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Module(tt.in, lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Module error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Module returned a result with its error")
			}
		})
	}
}

func FuzzModule(f *testing.F) {
	loop := module(typeVoid, oneFunc, mem1, sec(secExport, vec(funcExport("run", 0))), sec(secCode, vec(body(0x03, 0x40, 0x0c, 0x00, 0x0b))))
	f.Add(loop)                                                                             // a valid module with one loop
	f.Add([]byte{})                                                                         // nothing
	f.Add(header)                                                                           // a header and no sections
	f.Add(loop[:len(loop)-3])                                                               // a truncated code section
	f.Add(module(typeVoid, oneFunc, mem1, sec(secCode, vec(body(0xfc, 0x0a, 0x00, 0x00))))) // bulk memory
	f.Add(module(sec(secCustom, name(".debug_info")), typeVoid))                            // a debug section
	// The interpreter validates a module as the compiler does, faster.
	rt := wazero.NewRuntimeWithConfig(context.Background(), wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(context.Background())
	f.Fuzz(func(t *testing.T, wasm []byte) {
		ctx := context.Background()
		res, err := Module(wasm, DefaultLimits())
		if err != nil {
			if res != nil {
				t.Fatalf("Module returned output with error %v", err)
			}
			if _, limit := errors.AsType[*LimitError](err); !limit && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Module error %v is neither malformed, unsupported nor over a limit", err)
			}
			return
		}
		out := res.Wasm
		if _, err := split(out); err != nil {
			t.Fatalf("instrumented module does not parse: %v", err)
		}
		if c, err := rt.CompileModule(ctx, wasm); err == nil {
			_ = c.Close(ctx)
			ci, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("wazero accepts the module but not its instrumented copy: %v", err)
			}
			_ = ci.Close(ctx)
		}
		if _, err := Module(out, DefaultLimits()); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("instrumenting twice: error %v, want the stop export refused", err)
		}
	})
}

// TestLoopFirst checks which bodies enter a loop before anything could
// call, branch or return, so that their entry needs no stop check.
func TestLoopFirst(t *testing.T) {
	nops := make([]byte, maxLoopFirst)
	for i := range nops {
		nops[i] = 0x01
	}
	tests := []struct {
		name string
		code []byte
		want bool
	}{
		{"a loop first", []byte{0x03, 0x40, 0x0b, 0x0b}, true},
		{"blocks, then a loop", []byte{0x02, 0x40, 0x02, 0x7f, 0x03, 0x40, 0x0b, 0x0b, 0x0b, 0x0b}, true},
		{"plain instructions, then a loop", []byte{0x23, 0x00, 0x41, 0x08, 0x6b, 0x22, 0x01, 0x1a, 0x01, 0x03, 0x40, 0x0b, 0x0b}, true},
		{"a load, then a loop", []byte{0x41, 0x00, 0x28, 0x02, 0x00, 0x1a, 0x03, 0x40, 0x0b, 0x0b}, true},
		{"a call before the loop", []byte{0x10, 0x00, 0x03, 0x40, 0x0b, 0x0b}, false},
		{"an indirect call before the loop", []byte{0x41, 0x00, 0x11, 0x00, 0x00, 0x03, 0x40, 0x0b, 0x0b}, false},
		{"a branch out of a block past the loop", []byte{0x02, 0x40, 0x41, 0x01, 0x0d, 0x00, 0x03, 0x40, 0x0b, 0x0b, 0x0b}, false},
		{"an if around the loop", []byte{0x41, 0x01, 0x04, 0x40, 0x03, 0x40, 0x0b, 0x0b, 0x0b}, false},
		{"a return first", []byte{0x0f, 0x03, 0x40, 0x0b, 0x0b}, false},
		{"memory.grow (a call to the helper) first", []byte{0x41, 0x00, 0x40, 0x00, 0x1a, 0x03, 0x40, 0x0b, 0x0b}, false},
		{"no loop", []byte{0x41, 0x00, 0x1a, 0x0b}, false},
		{"a loop past the instructions looked at", append(slices.Clone(nops), 0x03, 0x40, 0x0b, 0x0b), false},
		{"cut short", []byte{0x41}, false},
	}
	for _, tt := range tests {
		if got := loopFirst(tt.code); got != tt.want {
			t.Errorf("%s: loopFirst = %v, want %v", tt.name, got, tt.want)
		}
	}
}
