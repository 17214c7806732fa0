package instrument

// A few helpers to write test modules byte by byte (WebAssembly core spec
// 1.0, "Binary Format").

func vec(items ...[]byte) []byte { return cat(appendU32(nil, uint32(len(items))), cat(items...)) }

func name(s string) []byte { return cat(appendU32(nil, uint32(len(s))), []byte(s)) }

func sec(id byte, body []byte) []byte {
	return cat([]byte{id}, appendU32(nil, uint32(len(body))), body)
}

func module(sections ...[]byte) []byte { return cat(header, cat(sections...)) }

// withSize prefixes a function body's code with its size.
func withSize(code []byte) []byte { return cat(appendU32(nil, uint32(len(code))), code) }

// body is a function body: no locals, the instructions, end.
func body(instrs ...byte) []byte { return bodyLocals([]byte{0x00}, instrs...) }

// bodyLocals is body with the local declarations locals (their count of
// groups first).
func bodyLocals(locals []byte, instrs ...byte) []byte {
	code := cat(locals, instrs, []byte{0x0b})
	return cat(appendU32(nil, uint32(len(code))), code)
}

// stopCheck is the check inserted after a loop's block type for the stop
// global idx and the fuel global after it.
func stopCheck(idx byte) []byte { return loopCheck(uint32(idx), uint32(idx)+1) }

var (
	// typeVoid is a type section with one type, () -> ().
	typeVoid = sec(secType, vec([]byte{0x60, 0x00, 0x00}))
	// typeI32 is a type section with () -> () and (i32) -> (i32).
	typeI32 = sec(secType, vec([]byte{0x60, 0x00, 0x00}, []byte{0x60, 0x01, 0x7f, 0x01, 0x7f}))
	// oneFunc declares one function of type 0.
	oneFunc = sec(secFunction, vec([]byte{0x00}))
	// mem1 is a memory section with one page.
	mem1 = sec(secMemory, vec([]byte{0x00, 0x01}))
)

// stopGlobal is a global section entry for one of the four added globals.
var stopGlobal = []byte{0x7f, 0x01, 0x41, 0x00, 0x0b}

// stopExport is an export entry for the stop global at idx (< 128).
func stopExport(idx byte) []byte { return cat(name(StopExport), []byte{0x03, idx}) }

func funcExport(n string, idx byte) []byte { return cat(name(n), []byte{0x00, idx}) }
