package sandbox

import (
	"encoding/binary"
)

// A tiny WebAssembly binary assembler for the hand-made test modules in
// testdata/modules (WebAssembly core spec 1.0, "Binary Format").

const (
	tI32 = 0x7f
	tI64 = 0x7e
)

type wfunc struct {
	params, results []byte
	body            []byte // instructions, without the final end
}

type wimport struct {
	module, name string
	fn           wfunc
}

type wexport struct {
	name string
	fn   int // index in funcs (after the imports)
}

type wmodule struct {
	imports  []wimport
	funcs    []wfunc
	exports  []wexport
	memPages int // -1: no memory
	memName  string
	data     []byte // at address 1024
}

func wvec(items ...[]byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func wname(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }

func wsection(id byte, body []byte) []byte {
	return append(append([]byte{id}, binary.AppendUvarint(nil, uint64(len(body)))...), body...)
}

func wsleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func i32c(v int32) []byte { return append([]byte{0x41}, wsleb(int64(v))...) }
func i64c(v int64) []byte { return append([]byte{0x42}, wsleb(v)...) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Instructions used by the test modules.
var (
	opUnreachable = []byte{0x00}
	opLoopForever = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b} // loop br 0 end
)

func (m wmodule) bytes() []byte {
	var types [][]byte
	typeOf := func(f wfunc) []byte {
		return cat([]byte{0x60}, wvec(split(f.params)...), wvec(split(f.results)...))
	}
	var imports, funcs, codes, exports [][]byte
	for i, im := range m.imports {
		types = append(types, typeOf(im.fn))
		imports = append(imports, cat(wname(im.module), wname(im.name), []byte{0x00}, binary.AppendUvarint(nil, uint64(i))))
	}
	for _, f := range m.funcs {
		funcs = append(funcs, binary.AppendUvarint(nil, uint64(len(types))))
		types = append(types, typeOf(f))
		body := cat([]byte{0x00}, f.body, []byte{0x0b}) // no locals
		codes = append(codes, cat(binary.AppendUvarint(nil, uint64(len(body))), body))
	}
	for _, e := range m.exports {
		exports = append(exports, cat(wname(e.name), []byte{0x00}, binary.AppendUvarint(nil, uint64(len(m.imports)+e.fn))))
	}
	if m.memPages >= 0 && m.memName != "" {
		exports = append(exports, cat(wname(m.memName), []byte{0x02, 0x00}))
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, wsection(1, wvec(types...))...)
	if len(imports) > 0 {
		out = append(out, wsection(2, wvec(imports...))...)
	}
	out = append(out, wsection(3, wvec(funcs...))...)
	if m.memPages >= 0 {
		out = append(out, wsection(5, wvec(cat([]byte{0x00}, binary.AppendUvarint(nil, uint64(m.memPages)))))...)
	}
	out = append(out, wsection(7, wvec(exports...))...)
	out = append(out, wsection(10, wvec(codes...))...)
	if len(m.data) > 0 {
		seg := cat([]byte{0x00}, i32c(1024), []byte{0x0b}, wname(string(m.data)))
		out = append(out, wsection(11, wvec(seg))...)
	}
	return out
}

func split(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// handPlugin is a complete ABI v1 plugin without WASI: version v, alloc
// returns 2048 (the input lands there), init returns 0, process runs
// processBody (default: return the result stored at 1024).
func handPlugin(version int32, processBody []byte, result []byte) wmodule {
	if processBody == nil {
		processBody = i64c(int64(1024)<<32 | int64(len(result)))
	}
	return wmodule{
		funcs: []wfunc{
			{nil, []byte{tI32}, i32c(version)},
			{[]byte{tI32}, []byte{tI32}, i32c(2048)},
			{[]byte{tI32, tI32}, []byte{tI32}, i32c(0)},
			{[]byte{tI32, tI32}, []byte{tI64}, processBody},
		},
		exports: []wexport{
			{"proctag_abi_version", 0}, {"proctag_alloc", 1}, {"proctag_init", 2}, {"proctag_process", 3},
		},
		memPages: 1, memName: "memory",
		data: result,
	}
}
