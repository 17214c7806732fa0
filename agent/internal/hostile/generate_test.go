package hostile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Generated attacks: modules too large to keep as text, and plugin-dir
// entries that are not plain files. Each gen function writes NAME.wasm at
// path.

// genNested: one function of 150,000 nested empty blocks, a compile bomb
// for any recursive validator, compiler or rewriter.
func genNested(t *testing.T, path string) {
	t.Helper()
	const depth = 150_000
	body := []byte{0x00} // no locals
	body = append(body, bytes.Repeat([]byte{0x02, 0x40}, depth)...)
	body = append(body, bytes.Repeat([]byte{0x0b}, depth+1)...)
	writeModule(t, path, (&moduleSpec{funcs: [][]byte{body}, callFirst: true}).encode())
}

// genManyFuncs: 100,000 empty functions.
func genManyFuncs(t *testing.T, path string) {
	t.Helper()
	extra := make([][]byte, 100_000)
	for i := range extra {
		extra[i] = []byte{0x00, 0x0b}
	}
	writeModule(t, path, (&moduleSpec{funcs: extra, callFirst: true}).encode())
}

// genHugeBody: one function whose body is 2 MiB of (i32.const 0; drop).
func genHugeBody(t *testing.T, path string) {
	t.Helper()
	body := []byte{0x00}
	body = append(body, bytes.Repeat([]byte{0x41, 0x00, 0x1a}, (2<<20)/3)...)
	body = append(body, 0x0b)
	writeModule(t, path, (&moduleSpec{funcs: [][]byte{body}, callFirst: true}).encode())
}

// genManyLocals: one function with 1,000,000 i64 locals (one 5-byte
// declaration), called by proctag_process: an 8 MB frame.
func genManyLocals(t *testing.T, path string) {
	t.Helper()
	body := []byte{0x01}
	body = binary.AppendUvarint(body, 1_000_000)
	body = append(body, 0x7e, 0x0b) // i64; end
	writeModule(t, path, (&moduleSpec{funcs: [][]byte{body}, callFirst: true}).encode())
}

// genCorrupt: a valid header, then a type section that claims 4 GiB and
// garbage: a parser must not trust the length.
func genCorrupt(t *testing.T, path string) {
	t.Helper()
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 0x01)
	b = binary.AppendUvarint(b, 0xffff_fff0)
	b = append(b, bytes.Repeat([]byte{0xff, 0x60, 0x00}, 100)...)
	writeModule(t, path, b)
}

// genFatFrames compiles, with wat2wasm, a module whose proctag_process
// recurses without bound through a function that keeps 1000 i64 values
// live across its recursive call: 8 KB of stack per frame.
func genFatFrames(t *testing.T, path string) {
	t.Helper()
	const locals = 1000
	var b strings.Builder
	b.WriteString(`(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (drop (call $deep (i64.const 1)))
    (i64.const 0))
  (func $deep (param $x i64) (result i64)
`)
	for i := range locals {
		fmt.Fprintf(&b, "    (local $l%d i64)\n", i)
	}
	for i := range locals {
		fmt.Fprintf(&b, "    (local.set $l%d (i64.mul (local.get $x) (i64.const %d)))\n", i, i+3)
	}
	b.WriteString("    (local.set $x (call $deep (i64.add (local.get $x) (i64.const 1))))\n")
	for i := range locals {
		fmt.Fprintf(&b, "    (local.set $x (i64.xor (local.get $x) (local.get $l%d)))\n", i)
	}
	b.WriteString("    (local.get $x)))\n")
	compileWAT(t, b.String(), path)
}

// genSlowStraight: proctag_process is 1500 memory.fill instructions of
// 16 MiB each, with neither a loop nor a call, so no stop check can run
// inside it, then a result that sets evil.x. The region is larger than a
// CPU's caches: 24 GiB written takes 0.25 s even at 100 GB/s, 2.5 times
// the timeout (with 3.75 MiB, which a large cache holds, a fast machine
// once finished in time and the result rightly stood).
func genSlowStraight(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`(module
  (memory (export "memory") 260)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
`)
	for i := range 1500 {
		fmt.Fprintf(&b, "    (memory.fill (i32.const 262144) (i32.const %d) (i32.const 16777216))\n", i%256)
	}
	b.WriteString("    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13))))\n")
	compileWAT(t, b.String(), path)
}

// Structure bombs within every structural limit of plugin-limits (module
// size, functions, body size, nesting, locals, table elements): each
// stresses a dimension those limits do not name.

// genManyTables: 1000 tables of 100,000 funcref slots each (every one at
// max-table-elements): 800 MB of table per instance from a 4 KB module.
func genManyTables(t *testing.T, path string) {
	t.Helper()
	w := &wasmWriter{}
	w.uleb(1000)
	for range 1000 {
		w.raw([]byte{0x70, 0x00})
		w.uleb(100_000)
	}
	writeModule(t, path, (&moduleSpec{tables: w.buf.Bytes()}).encode())
}

// genElemBomb: one passive element segment of 20,000,000 references to
// function 0 (20 MB of module): no table, so no table limit.
func genElemBomb(t *testing.T, path string) {
	t.Helper()
	const n = 20_000_000
	w := &wasmWriter{}
	w.raw([]byte{0x01, 0x01, 0x00}) // one segment: passive, elemkind funcref
	w.uleb(n)
	w.raw(make([]byte, n)) // function index 0, n times
	writeModule(t, path, (&moduleSpec{elems: w.buf.Bytes()}).encode())
}

// genManyGlobals: 5,000,000 immutable i64 globals (25 MB of module).
func genManyGlobals(t *testing.T, path string) {
	t.Helper()
	const n = 5_000_000
	w := &wasmWriter{}
	w.uleb(n)
	w.raw(bytes.Repeat([]byte{0x7e, 0x00, 0x42, 0x00, 0x0b}, n)) // i64, const, i64.const 0, end
	writeModule(t, path, (&moduleSpec{globals: w.buf.Bytes()}).encode())
}

// genManyTypes: 10,000,000 function types () -> () (30 MB of module).
func genManyTypes(t *testing.T, path string) {
	t.Helper()
	types := make([][]byte, 10_000_000)
	for i := range types {
		types[i] = skeletonTypes[4]
	}
	writeModule(t, path, (&moduleSpec{types: types}).encode())
}

// genManyExports: function 0 exported under 2,000,000 more names.
func genManyExports(t *testing.T, path string) {
	t.Helper()
	names := make([]string, 2_000_000)
	for i := range names {
		names[i] = fmt.Sprintf("e%07d", i)
	}
	writeModule(t, path, (&moduleSpec{exports: names}).encode())
}

// genCustomHuge: a custom section that makes the module 8 KiB short of
// the 32 MiB max-module-size: every copy the host makes of the bytes
// counts.
func genCustomHuge(t *testing.T, path string) {
	t.Helper()
	junk := bytes.Repeat([]byte{0xa5}, 32<<20-8<<10)
	writeModule(t, path, (&moduleSpec{customs: [][2][]byte{{[]byte("junk"), junk}}}).encode())
}

// genNameBomb: a "name" section naming 2,000,000 functions (28 MB): the
// runtime decodes it for its stack traces.
func genNameBomb(t *testing.T, path string) {
	t.Helper()
	const n = 2_000_000
	names := &wasmWriter{}
	names.uleb(n)
	for i := range n {
		names.uleb(uint64(i))
		names.uleb(10)
		fmt.Fprintf(&names.buf, "f%09d", i)
	}
	writeModule(t, path, (&moduleSpec{customs: [][2][]byte{{[]byte("name"), nameSubsection(1, names)}}}).encode())
}

// genTrapLongNames: function 4 recurses 100 deep and traps; the name
// section gives it a 256 KiB name that starts with a forged log line. A
// host that logs the runtime's stack trace logs the name once per frame.
func genTrapLongNames(t *testing.T, path string) {
	t.Helper()
	body := []byte{
		0x00,                   // no locals
		0x23, 0x00, 0x41, 0x01, // global.get 0; i32.const 1
		0x6a, 0x24, 0x00, // i32.add; global.set 0
		0x23, 0x00, 0x41, 0xe4, 0x00, 0x49, // global.get 0; i32.const 100; i32.lt_u
		0x04, 0x40, 0x10, 0x04, // if; call 4
		0x05, 0x00, 0x0b, 0x0b, // else; unreachable; end; end
	}
	name := "x\n2026-01-01T00:00:00.000Z [ERROR] proctag.wasmhost: plugin not loaded: plugin=good error=forged\n"
	name += strings.Repeat("A", 256<<10-len(name))
	names := &wasmWriter{}
	names.uleb(1)
	names.uleb(4)
	names.uleb(uint64(len(name)))
	names.raw([]byte(name))
	writeModule(t, path, (&moduleSpec{
		funcs: [][]byte{body}, callFirst: true,
		globals: []byte{0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b}, // one mutable i32 = 0
		customs: [][2][]byte{{[]byte("name"), nameSubsection(1, names)}},
	}).encode())
}

// genBodiesAtLimit: 30 functions whose bodies are just under the 1 MiB
// max-function-size, each 349,000 (i32.const 0; drop): 30 MiB of code to
// compile.
func genBodiesAtLimit(t *testing.T, path string) {
	t.Helper()
	body := []byte{0x00}
	body = append(body, bytes.Repeat([]byte{0x41, 0x00, 0x1a}, (1<<20-16)/3)...)
	body = append(body, 0x0b)
	funcs := make([][]byte, 30)
	for i := range funcs {
		funcs[i] = body
	}
	writeModule(t, path, (&moduleSpec{funcs: funcs, callFirst: true}).encode())
}

// genFuncsAtLimit: 49,990 functions (with the 4 required, just under the
// 50,000 max-functions), each 30 (i32.const 0; drop).
func genFuncsAtLimit(t *testing.T, path string) {
	t.Helper()
	body := []byte{0x00}
	body = append(body, bytes.Repeat([]byte{0x41, 0x00, 0x1a}, 30)...)
	body = append(body, 0x0b)
	funcs := make([][]byte, 49_990)
	for i := range funcs {
		funcs[i] = body
	}
	writeModule(t, path, (&moduleSpec{funcs: funcs, callFirst: true}).encode())
}

// genPhiBomb: one function (within max-locals and max-function-size) with
// 9,998 i64 locals, 1000 conditional branches to one exit block, each after
// an assignment to another local, and then a sum of every local: at the
// exit, every local needs a merge of 1001 incoming values, ten million in
// an SSA compiler, from a 60 KB module.
func genPhiBomb(t *testing.T, path string) {
	t.Helper()
	compileWAT(t, phiModule(9998, 1000, 1), path)
}

// genPhiMany: the same shape cut to 900 locals and 1000 branches (under a
// per-function cost of locals x branches of 2^20), in 200 functions: the
// per-function limits do not bound the module.
func genPhiMany(t *testing.T, path string) {
	t.Helper()
	compileWAT(t, phiModule(900, 1000, 200), path)
}

// phiModule is the text of a module with funcs functions of the phi-bomb
// shape; proctag_process calls the first.
func phiModule(locals, branches, funcs int) string {
	var b strings.Builder
	b.WriteString(`(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (drop (call $merge0 (local.get 1)))
    (i64.const 0))
`)
	for f := range funcs {
		fmt.Fprintf(&b, "  (func $merge%d (param $c i32) (result i64)\n    (local $sum i64)\n", f)
		fmt.Fprintf(&b, "    (local%s)\n", strings.Repeat(" i64", locals-1))
		b.WriteString("    (block $exit\n")
		for i := range branches {
			fmt.Fprintf(&b, "      (local.set %d (i64.const %d))\n      (br_if $exit (i32.eq (local.get $c) (i32.const %d)))\n",
				2+(i*7+f)%(locals-1), i, i)
		}
		b.WriteString("    )\n")
		for i := range locals - 1 {
			fmt.Fprintf(&b, "    (local.set $sum (i64.add (local.get $sum) (local.get %d)))\n", 2+i)
		}
		b.WriteString("    (local.get $sum))\n")
	}
	b.WriteString(")\n")
	return b.String()
}

// genBrTableBomb: 1000 nested blocks (under max-nesting) and one br_table
// of 340,000 targets spread over them (under max-function-size).
func genBrTableBomb(t *testing.T, path string) {
	t.Helper()
	const depth, targets = 1000, 340_000
	body := []byte{0x00}
	body = append(body, bytes.Repeat([]byte{0x02, 0x40}, depth)...)
	body = append(body, 0x41, 0x00, 0x0e) // i32.const 0; br_table
	body = binary.AppendUvarint(body, targets)
	for i := range targets + 1 { // the targets, then the default
		body = binary.AppendUvarint(body, uint64(i%depth))
	}
	body = append(body, bytes.Repeat([]byte{0x0b}, depth+1)...)
	writeModule(t, path, (&moduleSpec{funcs: [][]byte{body}, callFirst: true}).encode())
}

// genSparse: x.wasm is a 512 MiB sparse file (a hole; it costs no disk):
// reading it whole costs 512 MiB of memory.
func genSparse(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("\x00asm\x01\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 512<<20); err != nil {
		t.Fatal(err)
	}
}

// genFIFO: y.wasm is a named pipe nobody writes to: opening it for reading
// blocks until a writer comes, reading it never ends.
func genFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// genSymlink: NAME.wasm links to the module of testdata/symlink.wat in a
// directory outside plugin-dir.
func genSymlink(t *testing.T, path string) {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "outside.wasm")
	copyModule(t, "symlink", outside)
	if err := os.Symlink(outside, path); err != nil {
		t.Fatal(err)
	}
}
