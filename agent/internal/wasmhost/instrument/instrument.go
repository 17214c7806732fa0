package instrument

import (
	"errors"
	"fmt"
	"strings"
)

// StopExport is the name under which the stop global is exported.
const StopExport = "__proctag_stop"

// Section ids of the WebAssembly binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order is the position a known section must take in a module.
var order = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secGlobal: 6, secExport: 7, secStart: 8, secElement: 9, secDataCount: 10,
	secCode: 11, secData: 12,
}

var header = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// ErrMalformed wraps every error about a module that is not valid
// WebAssembly as far as the rewriter reads it.
var ErrMalformed = errors.New("malformed module")

// ErrUnsupported wraps every error about a valid module the rewriter
// cannot instrument.
var ErrUnsupported = errors.New("unsupported module")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

type section struct {
	id   byte
	body []byte
}

// Module returns an instrumented copy of the binary module wasm and the
// number of loops it instrumented. wasm is not modified.
func Module(wasm []byte) ([]byte, int, error) {
	secs, err := split(wasm)
	if err != nil {
		return nil, 0, err
	}
	var importedGlobals, definedGlobals, memories uint32
	var hasGlobal, hasExport bool
	for _, s := range secs {
		switch s.id {
		case secStart:
			return nil, 0, unsupported("the module has a start function")
		case secImport:
			if importedGlobals, memories, err = countImports(s.body); err != nil {
				return nil, 0, err
			}
		case secMemory:
			r := reader{b: s.body}
			n, err := r.u32()
			if err != nil {
				return nil, 0, err
			}
			memories += n
		case secGlobal:
			hasGlobal = true
			r := reader{b: s.body}
			if definedGlobals, err = r.u32(); err != nil {
				return nil, 0, err
			}
		case secExport:
			hasExport = true
		}
	}
	if memories == 0 {
		return nil, 0, unsupported("the module has no memory")
	}
	stop := importedGlobals + definedGlobals
	out := make([]byte, 0, len(wasm)+len(wasm)/16+64)
	out = append(out, header...)
	loops := 0
	added := map[byte]bool{}
	addMissing := func(beforeRank int) {
		if !hasGlobal && !added[secGlobal] && beforeRank > order[secGlobal] {
			added[secGlobal] = true
			out = appendSection(out, secGlobal, appendGlobals(appendU32(nil, 2)))
		}
		if !hasExport && !added[secExport] && beforeRank > order[secExport] {
			added[secExport] = true
			out = appendSection(out, secExport, appendStopExport(appendU32(nil, 1), stop))
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			addMissing(order[s.id])
		}
		switch s.id {
		case secCustom:
			name, err := customName(s.body)
			if err != nil {
				return nil, 0, err
			}
			if strings.HasPrefix(name, ".debug_") {
				continue
			}
			out = appendSection(out, s.id, s.body)
		case secGlobal:
			body, err := addGlobal(s.body)
			if err != nil {
				return nil, 0, err
			}
			out = appendSection(out, s.id, body)
		case secExport:
			body, err := addExport(s.body, stop)
			if err != nil {
				return nil, 0, err
			}
			out = appendSection(out, s.id, body)
		case secCode:
			body, n, err := instrumentCode(s.body, stop)
			if err != nil {
				return nil, 0, err
			}
			loops += n
			out = appendSection(out, s.id, body)
		default:
			out = appendSection(out, s.id, s.body)
		}
	}
	addMissing(order[secData] + 1)
	return out, loops, nil
}

// split checks the header and returns the sections in file order, checking
// that known sections are unique and in order.
func split(wasm []byte) ([]section, error) {
	if len(wasm) < len(header) || string(wasm[:len(header)]) != string(header) {
		return nil, malformed("not a WebAssembly 1 binary")
	}
	r := reader{b: wasm, pos: len(header)}
	var secs []section
	last := 0
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		body, err := r.vecBytes()
		if err != nil {
			return nil, err
		}
		if id != secCustom {
			rank, ok := order[id]
			if !ok {
				return nil, malformed("unknown section id %d", id)
			}
			if rank <= last {
				return nil, malformed("section %d out of order", id)
			}
			last = rank
		}
		secs = append(secs, section{id: id, body: body})
	}
	return secs, nil
}

func customName(body []byte) (string, error) {
	r := reader{b: body}
	return r.name()
}

// countImports returns the number of imported globals and memories.
func countImports(body []byte) (globals, memories uint32, err error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return 0, 0, err
	}
	for range n {
		if _, err := r.name(); err != nil {
			return 0, 0, err
		}
		if _, err := r.name(); err != nil {
			return 0, 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return 0, 0, err
		}
		switch kind {
		case 0x00: // function: type index
			_, err = r.u32()
		case 0x01: // table: reference type, limits
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
		case 0x02: // memory: limits
			memories++
			err = r.limits()
		case 0x03: // global: value type, mutability
			globals++
			if _, err = r.byte(); err == nil {
				_, err = r.byte()
			}
		default:
			err = malformed("import kind %#x", kind)
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if !r.done() {
		return 0, 0, malformed("import section has %d trailing bytes", len(r.b)-r.pos)
	}
	return globals, memories, nil
}

// appendGlobals appends the entries of the stop global and the fuel global
// (both mutable i32 = 0).
func appendGlobals(b []byte) []byte {
	return append(b, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
}

func appendStopExport(b []byte, idx uint32) []byte {
	b = appendU32(b, uint32(len(StopExport)))
	b = append(b, StopExport...)
	b = append(b, 0x03)
	return appendU32(b, idx)
}

// addGlobal rewrites a global section's count and appends the stop and
// fuel globals.
func addGlobal(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n+2)
	out = append(out, body[r.pos:]...)
	return appendGlobals(out), nil
}

// addExport rewrites an export section's count and appends the stop
// global's export, refusing a module that already exports the name.
func addExport(body []byte, stop uint32) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	start := r.pos
	for range n {
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		if name == StopExport {
			return nil, unsupported("the module already exports %s", StopExport)
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
		if _, err := r.u32(); err != nil {
			return nil, err
		}
	}
	if !r.done() {
		return nil, malformed("export section has %d trailing bytes", len(r.b)-r.pos)
	}
	out := appendU32(nil, n+1)
	out = append(out, body[start:]...)
	return appendStopExport(out, stop), nil
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}
