package instrument

import (
	"errors"
	"fmt"
)

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

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}
