package sandbox

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/proctag/proctag/abi"
)

var update = flag.Bool("update", false, "rewrite testdata/modules/*.wasm from the assembler in asm_test.go")

// handResult is what hand.wasm returns for every record.
var handResult = abi.AppendResult(nil, &abi.Result{SetTags: []abi.Tag{{Key: "hand.k", Value: "v"}}})

// handModules are the hand-assembled modules in testdata/modules, each
// small and aimed at one load check or fault.
var handModules = map[string]func() []byte{
	// A complete ABI v1.0 plugin with no WASI at all: sets hand.k=v.
	"hand": func() []byte { return handPlugin(0x00010000, nil, handResult).bytes() },
	// ABI v1.7: a newer minor, which a v1.0 host accepts.
	"minor": func() []byte { return handPlugin(0x00010007, nil, handResult).bytes() },
	// Reports ABI 2.0.
	"wrong_major": func() []byte { return handPlugin(0x00020000, nil, handResult).bytes() },
	// proctag_process traps with unreachable.
	"unreachable": func() []byte { return handPlugin(0x00010000, opUnreachable, nil).bytes() },
	// proctag_process never returns.
	"loop": func() []byte { return handPlugin(0x00010000, cat(opLoopForever, opUnreachable), nil).bytes() },
	// proctag_process calls a chain of 40 functions, the last of which
	// never returns.
	"deep_loop": func() []byte {
		const depth = 40
		m := handPlugin(0x00010000, cat([]byte{0x10, 4}, opUnreachable), nil)
		for i := range depth {
			body := []byte{0x10, byte(5 + i)} // call the next
			if i == depth-1 {
				body = opLoopForever
			}
			m.funcs = append(m.funcs, wfunc{nil, nil, body})
		}
		return m.bytes()
	},
	// Like loop, plus a function with a SIMD instruction, which the
	// instrumenter refuses: wazero's context checks stop it instead.
	"simd_loop": func() []byte {
		m := handPlugin(0x00010000, cat(opLoopForever, opUnreachable), nil)
		v128 := cat([]byte{0xfd, 0x0c}, make([]byte, 16), []byte{0x1a}) // v128.const 0; drop
		m.funcs = append(m.funcs, wfunc{nil, nil, v128})
		return m.bytes()
	},
	// Lacks proctag_process.
	"missing_export": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.exports = m.exports[:3]
		return m.bytes()
	},
	// proctag_process returns i32 instead of i64.
	"wrong_signature": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.funcs[3] = wfunc{[]byte{tI32, tI32}, []byte{tI32}, i32c(0)}
		return m.bytes()
	},
	// Imports env.now, which no plugin may.
	"foreign_import": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.imports = []wimport{{"env", "now", wfunc{nil, []byte{tI64}, nil}}}
		return m.bytes()
	},
	// Imports proctag_v1.log with the wrong signature.
	"bad_log_import": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.imports = []wimport{{"proctag_v1", "log", wfunc{[]byte{tI32}, nil, nil}}}
		return m.bytes()
	},
	// Imports proctag_v1.sleep, which ABI v1.0 does not have.
	"unknown_host_import": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.imports = []wimport{{"proctag_v1", "sleep", wfunc{[]byte{tI32}, nil, nil}}}
		return m.bytes()
	},
	// A WASI command: exports _start and memory, none of the ABI.
	"command": func() []byte {
		return wmodule{funcs: []wfunc{{nil, nil, nil}}, exports: []wexport{{"_start", 0}}, memPages: 1, memName: "memory"}.bytes()
	},
	// Does not export its memory.
	"no_memory": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.memName = ""
		return m.bytes()
	},
	// Starts with 200 pages (12.5 MiB) of memory.
	"big_memory": func() []byte {
		m := handPlugin(0x00010000, nil, nil)
		m.memPages = 200
		return m.bytes()
	},
	// The magic and version, then a section that is not one.
	"corrupt": func() []byte { return []byte("\x00asm\x01\x00\x00\x00\x01\x09garbage!!") },
}

// modulePath returns the path of testdata/modules/NAME.wasm.
func modulePath(name string) string { return filepath.Join("testdata", "modules", name+".wasm") }

func TestHandModulesGolden(t *testing.T) {
	for name, gen := range handModules {
		t.Run(name, func(t *testing.T) {
			want := gen()
			if *update {
				if err := os.MkdirAll(filepath.Dir(modulePath(name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(modulePath(name), want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(modulePath(name))
			if err != nil {
				t.Fatalf("%v (run go test -run TestHandModulesGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the assembler's output; run with -update and review", modulePath(name))
			}
		})
	}
}
