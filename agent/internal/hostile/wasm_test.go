package hostile

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// A tiny WebAssembly binary writer for the generated attacks, and wat2wasm
// for the generated text ones.

// skeletonTypes are the types every generated module starts with: the
// signatures of the four required exports (0-3) and () -> () (4), the type
// of every extra function.
var skeletonTypes = [][]byte{
	{0x60, 0x00, 0x01, 0x7f},             // () -> i32: proctag_abi_version
	{0x60, 0x01, 0x7f, 0x01, 0x7f},       // (i32) -> i32: proctag_alloc
	{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f}, // (i32, i32) -> i32: proctag_init
	{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e}, // (i32, i32) -> i64: proctag_process
	{0x60, 0x00, 0x00},                   // () -> ()
}

// moduleSpec is a generated module: the ABI skeleton (a 4-page memory and
// the four required exports: version 1.0, alloc at 64 KiB, init ok,
// process "unchanged") plus what an attack adds. Section contents are
// given encoded, without their section id and size.
type moduleSpec struct {
	// types are appended to skeletonTypes (count included by encode).
	types [][]byte
	// funcs are the bodies (locals and code, without the size) of extra
	// () -> () functions, indexes 4, 5, ...; with callFirst,
	// proctag_process calls function 4 first.
	funcs     [][]byte
	callFirst bool
	// tables, globals, elems are whole section bodies (vector count
	// included); nil leaves the section out.
	tables, globals, elems []byte
	// exports are extra exports of function 0, after the five required.
	exports []string
	// customs are custom sections: name, then payload.
	customs [][2][]byte
}

func (m *moduleSpec) encode() []byte {
	w := &wasmWriter{}
	w.raw([]byte("\x00asm\x01\x00\x00\x00"))

	types := &wasmWriter{}
	types.uleb(uint64(len(skeletonTypes) + len(m.types)))
	for _, t := range append(slices.Clone(skeletonTypes), m.types...) {
		types.raw(t)
	}
	w.section(1, types)

	funcs := &wasmWriter{}
	funcs.uleb(uint64(4 + len(m.funcs)))
	for i := range 4 {
		funcs.uleb(uint64(i))
	}
	for range m.funcs {
		funcs.uleb(4)
	}
	w.section(3, funcs)

	w.rawSection(4, m.tables)
	mem := &wasmWriter{}
	mem.raw([]byte{0x01, 0x00, 0x04}) // one memory, min 4 pages, no max
	w.section(5, mem)
	w.rawSection(6, m.globals)

	exports := &wasmWriter{}
	exports.uleb(uint64(5 + len(m.exports)))
	exports.export("memory", 2, 0)
	for i, name := range []string{"proctag_abi_version", "proctag_alloc", "proctag_init", "proctag_process"} {
		exports.export(name, 0, uint64(i))
	}
	for _, name := range m.exports {
		exports.export(name, 0, 0)
	}
	w.section(7, exports)
	w.rawSection(9, m.elems)

	process := []byte{0x00, 0x42, 0x00, 0x0b} // no locals; i64.const 0; end
	if m.callFirst {
		process = []byte{0x00, 0x10, 0x04, 0x42, 0x00, 0x0b} // call 4 first
	}
	code := &wasmWriter{}
	code.uleb(uint64(4 + len(m.funcs)))
	for _, body := range append([][]byte{
		{0x00, 0x41, 0x80, 0x80, 0x04, 0x0b}, // i32.const 0x10000
		{0x00, 0x41, 0x80, 0x80, 0x04, 0x0b}, // i32.const 65536
		{0x00, 0x41, 0x00, 0x0b},             // i32.const 0
		process,
	}, m.funcs...) {
		code.uleb(uint64(len(body)))
		code.raw(body)
	}
	w.section(10, code)

	for _, c := range m.customs {
		custom := &wasmWriter{}
		custom.uleb(uint64(len(c[0])))
		custom.raw(c[0])
		custom.raw(c[1])
		w.section(0, custom)
	}
	return w.buf.Bytes()
}

// wasmWriter appends WebAssembly binary encodings.
type wasmWriter struct{ buf bytes.Buffer }

func (w *wasmWriter) raw(b []byte) { w.buf.Write(b) }

func (w *wasmWriter) uleb(v uint64) {
	w.buf.Write(binary.AppendUvarint(nil, v)) // LEB128 is the uvarint encoding
}

func (w *wasmWriter) section(id byte, body *wasmWriter) {
	w.rawSection(id, body.buf.Bytes())
}

// rawSection writes a section whose body is b; nil writes nothing.
func (w *wasmWriter) rawSection(id byte, b []byte) {
	if b == nil {
		return
	}
	w.buf.WriteByte(id)
	w.uleb(uint64(len(b)))
	w.buf.Write(b)
}

func (w *wasmWriter) export(name string, kind byte, index uint64) {
	w.uleb(uint64(len(name)))
	w.buf.WriteString(name)
	w.buf.WriteByte(kind)
	w.uleb(index)
}

// writeModule writes b to path.
func writeModule(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// nameSubsection frames a subsection of the name section.
func nameSubsection(id byte, body *wasmWriter) []byte {
	w := &wasmWriter{}
	w.raw([]byte{id})
	w.uleb(uint64(body.buf.Len()))
	w.raw(body.buf.Bytes())
	return w.buf.Bytes()
}

// compileWAT compiles WebAssembly text with wat2wasm to path.
func compileWAT(t *testing.T, text, path string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "gen.wat")
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("wat2wasm", src, "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
}
