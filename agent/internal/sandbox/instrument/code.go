package instrument

// Fuel is the number of loop iterations between two exits to the host.
const Fuel = 4096

// loopCheck is the code inserted at every loop header:
//
//	fuel = fuel - 1
//	if fuel <= 0 {
//	    if stop { unreachable }
//	    memory.grow(0)  // an exit to the host, see below
//	    fuel = Fuel
//	}
//
// The exit matters to a Go host: compiled guest code cannot be preempted,
// so a guest that never left it would hold up the Go runtime's
// stop-the-world (a garbage collection) and with it the timer that sets
// stop. Growing the memory by 0 pages is the cheapest instruction wazero
// implements in Go.
func loopCheck(stop, fuel uint32) []byte {
	get := func(idx uint32) []byte { return append([]byte{0x23}, appendU32(nil, idx)...) }
	set := func(idx uint32) []byte { return append([]byte{0x24}, appendU32(nil, idx)...) }
	return cat(
		get(fuel), []byte{0x41, 0x01, 0x6b}, set(fuel), // fuel = fuel - 1
		get(fuel), []byte{0x41, 0x00, 0x4c}, // fuel <= 0
		[]byte{0x04, 0x40},                        // if
		get(stop), []byte{0x04, 0x40, 0x00, 0x0b}, // if stop unreachable end
		[]byte{0x41, 0x00, 0x40, 0x00, 0x1a}, // memory.grow 0, drop
		[]byte{0x41, 0x80, 0x20}, set(fuel),  // fuel = 4096
		[]byte{0x0b}, // end
	)
}

// bulkExitBytes is the length from which a bulk operation exits to the
// host before it runs.
const bulkExitBytes = 4096

// bulkCheck is the code inserted before every bulk memory or table
// operation (bulkOp), whose length operand is on top of the stack:
//
//	if length >= bulkExitBytes { memory.grow(0) }  // an exit to the host
//	if stop { unreachable }
//
// One such operation runs as long as its length, with no loop to check
// in, and a function of straight-line code can hold tens of thousands:
// the check bounds a call's overrun of its deadline by one operation, and
// the exit lets a Go host's runtime stop the world (and run the timer
// that sets stop) between two long ones, as loops do every Fuel checks.
// Short operations, which Go's wasm port makes for every copy, skip the
// exit. scratch is a local of the function, which takes the length.
func bulkCheck(stop, scratch uint32) []byte {
	return cat(
		[]byte{0x22}, appendU32(nil, scratch), []byte{0x20}, appendU32(nil, scratch), // local.tee local.get
		[]byte{0x41, 0x80, 0x20, 0x4f},                         // i32.const 4096 i32.ge_u
		[]byte{0x04, 0x40, 0x41, 0x00, 0x40, 0x00, 0x1a, 0x0b}, // if memory.grow 0 drop end
		[]byte{0x23}, appendU32(nil, stop), []byte{0x04, 0x40, 0x00, 0x0b}, // if stop unreachable end
	)
}

// hostCallCheck is the code inserted after every call of an imported
// function (the host's): if stop { unreachable }. A host function runs
// as Go, where the host's timer can set stop, but the guest only checks it
// at loops, calls of its own functions and bulk operations: straight-line
// code of thousands of host calls would otherwise run on past a deadline,
// one host call after another.
func hostCallCheck(stop uint32) []byte {
	return cat([]byte{0x23}, appendU32(nil, stop), []byte{0x04, 0x40, 0x00, 0x0b})
}

// bulkOp reports whether the 0xFC sub-opcode sub is an operation whose
// time grows with its operands: memory.init, memory.copy, memory.fill,
// table.init, table.copy and table.fill.
func bulkOp(sub uint32) bool {
	switch sub {
	case 8, 10, 11, 12, 14, 17:
		return true
	}
	return false
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type funcError struct {
	index uint32
	err   error
}

func (e *funcError) Error() string { return "function body " + itoa(e.index) + ": " + e.err.Error() }
func (e *funcError) Unwrap() error { return e.err }

func withFunc(err error, i uint32) error { return &funcError{index: i, err: err} }

func itoa(v uint32) string { return string(appendDec(nil, v)) }

func appendDec(b []byte, v uint32) []byte {
	if v >= 10 {
		b = appendDec(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// valType accepts the value types of the supported proposals.
func valType(t byte) error {
	switch t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f: // i32 i64 f32 f64 funcref externref
		return nil
	case 0x7b: // v128
		return nil
	}
	return malformed("value type %#x", t)
}

// blockType reads a block type: empty, a value type, or an s33 type index.
func (r *reader) blockType() error {
	at := r.pos
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v >= 0 {
		return nil
	}
	if r.pos != at+1 {
		return malformed("block type at offset %d", at)
	}
	if t := r.b[at]; t != 0x40 {
		return valType(t)
	}
	return nil
}

// immediates skips the immediates of op (anything but block, loop, if and
// end).
func (r *reader) immediates(op byte) error {
	var err error
	switch {
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1:
		// unreachable nop else return drop select ref.is_null
	case op >= 0x45 && op <= 0xc4: // numeric, sign extension
	case op == 0x0c || op == 0x0d || op == 0x10 || op == 0xd2 || (op >= 0x20 && op <= 0x26):
		// br br_if call ref.func local.* global.* table.get table.set
		_, err = r.u32()
	case op == 0x0e: // br_table
		_, err = r.brTable()
	case op == 0x11: // call_indirect: type index, table index
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case op == 0x1c: // select with types
		var n uint32
		if n, err = r.u32(); err == nil {
			for i := uint32(0); i < n && err == nil; i++ {
				var t byte
				if t, err = r.byte(); err == nil {
					err = valType(t)
				}
			}
		}
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		err = r.memarg()
	case op == 0x3f: // memory.size
		err = r.memIndex()
	case op == 0x41:
		_, err = r.sleb(32)
	case op == 0x42:
		_, err = r.sleb(64)
	case op == 0x43:
		err = r.skip(4)
	case op == 0x44:
		err = r.skip(8)
	case op == 0xd0: // ref.null
		var t byte
		if t, err = r.byte(); err == nil && t != 0x70 && t != 0x6f {
			err = malformed("ref.null type %#x", t)
		}
	case op == 0xfc:
		err = r.prefixed()
	case op == 0xfd:
		err = r.simd()
	case op == 0xfe:
		err = unsupported("threads instruction at offset %d", r.pos-1)
	default:
		err = unsupported("opcode %#x at offset %d", op, r.pos-1)
	}
	return err
}

// brTable skips a br_table's targets and default and returns the number of
// targets.
func (r *reader) brTable() (uint32, error) {
	n, err := r.u32()
	for i := uint32(0); i <= n && err == nil; i++ {
		_, err = r.u32()
	}
	return n, err
}

func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align >= 64 {
		return unsupported("memarg with a memory index at offset %d", r.pos)
	}
	_, err = r.u32()
	return err
}

// memIndex reads a memory index, which must be 0.
func (r *reader) memIndex() error {
	idx, err := r.u32()
	if err == nil && idx != 0 {
		err = unsupported("memory index %d", idx)
	}
	return err
}

// prefixed skips the sub-opcode and immediates of a 0xFC instruction.
func (r *reader) prefixed() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating float-to-int
	case sub == 8: // memory.init data, mem
		if _, err = r.u32(); err == nil {
			err = r.memIndex()
		}
	case sub == 9 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop elem.drop table.grow/size/fill
		_, err = r.u32()
	case sub == 10: // memory.copy
		if err = r.memIndex(); err == nil {
			err = r.memIndex()
		}
	case sub == 11: // memory.fill
		err = r.memIndex()
	case sub == 12 || sub == 14: // table.init, table.copy
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	default:
		err = unsupported("0xfc sub-opcode %d", sub)
	}
	return err
}
