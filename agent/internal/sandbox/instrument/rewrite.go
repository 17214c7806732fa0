package instrument

import "slices"

// rewriter rewrites the function bodies of one module.
type rewriter struct {
	m        *wasmModule
	lim      Limits
	g        globals
	growFunc uint32 // index the memory.grow helper gets
	check    []byte // loopCheck for the module's globals

	loops    int
	cost     uint64 // the module's, so far
	usesGrow bool
	newTypes []funcType // types appended to the type section
	body     []byte     // scratch
}

// typeIndex returns the index of a type equal to t, adding it if the
// module has none.
func (rw *rewriter) typeIndex(t funcType) uint32 {
	eq := func(u funcType) bool { return slices.Equal(u.params, t.params) && slices.Equal(u.results, t.results) }
	if i := slices.IndexFunc(rw.m.types, eq); i >= 0 {
		return uint32(i)
	}
	if i := slices.IndexFunc(rw.newTypes, eq); i >= 0 {
		return uint32(len(rw.m.types) + i)
	}
	rw.newTypes = append(rw.newTypes, t)
	return uint32(len(rw.m.types) + len(rw.newTypes) - 1)
}

// blockType is the block type that carries a function's results.
func (rw *rewriter) blockType(results []byte) []byte {
	switch len(results) {
	case 0:
		return []byte{0x40}
	case 1:
		return results
	}
	return appendS33(nil, int64(rw.typeIndex(funcType{results: results})))
}

// exportCount is the number of exports after adding the host's to n.
func (rw *rewriter) exportCount(n uint32) uint32 {
	if rw.m.start >= 0 {
		return n + 3
	}
	return n + 2
}

// appendExports appends the module's export entries, then the host's.
func (rw *rewriter) appendExports(b, entries []byte) []byte {
	b = append(b, entries...)
	b = appendExport(b, StopExport, 0x03, rw.g.stop)
	b = appendExport(b, FaultExport, 0x03, rw.g.fault)
	if rw.m.start >= 0 {
		b = appendExport(b, StartExport, 0x00, uint32(rw.m.start))
	}
	return b
}

// code rewrites a code section and appends the memory.grow helper when a
// body used memory.grow.
func (rw *rewriter) code(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) != len(rw.m.funcTypes) {
		return nil, malformed("%d function bodies for %d functions", n, len(rw.m.funcTypes))
	}
	out := make([]byte, 0, len(body)+len(body)/8+64)
	out = appendU32(out, n)
	var fn []byte
	for i := range n {
		code, err := r.vecBytes()
		if err != nil {
			return nil, err
		}
		if err := overLimit("max-function-size", "function "+itoa(i)+"'s body size", uint64(len(code)), uint64(rw.lim.MaxFunctionBytes)); err != nil {
			return nil, err
		}
		t := rw.m.types[rw.m.funcTypes[i]]
		if fn, err = rw.function(fn[:0], code, t); err != nil {
			return nil, withFunc(err, i)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if !r.done() {
		return nil, malformed("code section has %d trailing bytes", len(r.b)-r.pos)
	}
	if rw.usesGrow {
		out = replaceCount(out, n+1)
		grow := rw.growBody()
		out = appendU32(out, uint32(len(grow)))
		out = append(out, grow...)
	}
	return out, nil
}

// growBody is the memory.grow helper, (i32) -> i32 with one i32 local:
//
//	r = memory.grow(delta)
//	if r == -1 { fault = FaultGrow }
//	return r
func (rw *rewriter) growBody() []byte {
	b := []byte{0x01, 0x01, 0x7f, 0x20, 0x00, 0x40, 0x00, 0x22, 0x01, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x41, FaultGrow, 0x24}
	b = appendU32(b, rw.g.fault)
	return append(b, 0x0b, 0x20, 0x01, 0x0b)
}

// function appends the instrumented body of one function of type t to out:
//
//	locals (as declared)
//	entry: stack += frame; if stack > MaxStackBytes { fault = FaultStack; unreachable }
//	       the loop check
//	block (result t.results)
//	    the body, with a loop check after each loop's block type, return
//	    as a branch to this block and memory.grow as a call to the helper
//	end
//	exit: stack -= frame
//	end
//
// A branch to the function's label (br, br_if or br_table with the
// current depth) now targets the wrapping block, which ends the same way.
func (rw *rewriter) function(out, code []byte, t funcType) ([]byte, error) {
	r := reader{b: code}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	groupsAt := r.pos // after the count of local groups
	locals := uint64(len(t.params))
	for range groups {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		locals += uint64(n)
		if err := overLimit("max-locals", "the number of locals", locals, uint64(rw.lim.MaxLocals)); err != nil {
			return nil, err
		}
		b, err := r.byte()
		if err != nil {
			return nil, err
		}
		if err := valType(b); err != nil {
			return nil, err
		}
	}
	localsEnd := r.pos
	scratch, bulk := uint32(locals), false // an i32 local added for bulkCheck
	body := rw.body[:0]
	copied := r.pos
	depth, instrs, branches, targets := 0, uint64(0), uint64(0), uint64(0)
	for {
		at := r.pos
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		instrs++
		switch op {
		case 0x02, 0x03, 0x04: // block, loop, if
			branches++
			if err := r.blockType(); err != nil {
				return nil, err
			}
			depth++
			if err := overLimit("max-nesting", "the nesting depth", uint64(depth), uint64(rw.lim.MaxNesting)); err != nil {
				return nil, err
			}
			if op == 0x03 {
				body = append(body, code[copied:r.pos]...)
				body = append(body, rw.check...)
				copied = r.pos
				rw.loops++
			}
		case 0x0b: // end
			depth--
			if depth >= 0 {
				continue
			}
			if !r.done() {
				return nil, malformed("%d bytes after the function's end", len(code)-r.pos)
			}
			cost := (locals + 1) * branches
			if err := overLimit("max-function-cost", "(params + locals + 1) × branches", cost, uint64(rw.lim.MaxFunctionCost)); err != nil {
				return nil, err
			}
			rw.cost += cost
			if err := overLimit("max-module-cost", "the module's cost (the sum of its functions')", rw.cost, uint64(rw.lim.MaxModuleCost)); err != nil {
				return nil, err
			}
			body = append(body, code[copied:at]...)
			rw.body = body
			if bulk {
				locals++
			}
			frame := min(FrameBytes(uint64(len(t.params)), locals-uint64(len(t.params)), instrs), uint64(rw.lim.MaxStackBytes)+1)
			if bulk {
				out = appendU32(out, groups+1)
				out = append(out, code[groupsAt:localsEnd]...)
				out = append(out, 0x01, 0x7f) // one i32: scratch
			} else {
				out = append(out, code[:localsEnd]...)
			}
			out = rw.entry(out, uint32(frame), !loopFirst(code[localsEnd:]))
			out = append(out, 0x02)
			out = append(out, rw.blockType(t.results)...)
			out = append(out, body...)
			out = append(out, 0x0b)
			out = rw.exit(out, uint32(frame))
			return append(out, 0x0b), nil
		case 0x0f: // return: a branch to the wrapping block
			body = append(body, code[copied:at]...)
			body = append(body, 0x0c)
			body = appendU32(body, uint32(depth))
			copied = r.pos
		case 0x40: // memory.grow: a call to the helper
			if err := r.memIndex(); err != nil {
				return nil, err
			}
			body = append(body, code[copied:at]...)
			body = append(body, 0x10)
			body = appendU32(body, rw.growFunc)
			copied = r.pos
			rw.usesGrow = true
		case 0xfc: // bulk memory and table operations: bulkCheck first
			sub, err := (&reader{b: code, pos: r.pos}).u32()
			if err != nil {
				return nil, err
			}
			if bulkOp(sub) {
				body = append(body, code[copied:at]...)
				body = append(body, bulkCheck(rw.g.stop, scratch)...)
				copied, bulk = at, true
			}
			if err := r.immediates(op); err != nil {
				return nil, err
			}
		case 0x10: // call: one of the host's is followed by a stop check
			callee, err := r.u32()
			if err != nil {
				return nil, err
			}
			if callee < rw.m.importedFuncs {
				body = append(body, code[copied:r.pos]...)
				body = append(body, hostCallCheck(rw.g.stop)...)
				copied = r.pos
			}
		case 0x05, 0x0c, 0x0d: // else, br, br_if
			branches++
			if err := r.immediates(op); err != nil {
				return nil, err
			}
		case 0x0e: // br_table: every target
			n, err := r.brTable()
			if err != nil {
				return nil, err
			}
			branches += uint64(n) + 1
			targets += uint64(n) + 1
			if err := overLimit("the br_table limit", "the br_table targets", targets, maxBrTableTargets); err != nil {
				return nil, err
			}
		default:
			if err := r.immediates(op); err != nil {
				return nil, err
			}
		}
	}
}

// entry appends the function entry's stack charge and check, then, with
// check, the loop check (so that recursion without loops is stopped too).
func (rw *rewriter) entry(b []byte, frame uint32, check bool) []byte {
	b = append(b, 0x23)
	b = appendU32(b, rw.g.stack)
	b = append(b, 0x41)
	b = appendS33(b, int64(frame))
	b = append(b, 0x6a, 0x24) // i32.add global.set
	b = appendU32(b, rw.g.stack)
	b = append(b, 0x23)
	b = appendU32(b, rw.g.stack)
	b = append(b, 0x41)
	b = appendS33(b, int64(rw.lim.MaxStackBytes))
	b = append(b, 0x4b, 0x04, 0x40, 0x41, FaultStack, 0x24) // i32.gt_u if i32.const global.set
	b = appendU32(b, rw.g.fault)
	b = append(b, 0x00, 0x0b) // unreachable end
	if !check {
		return b
	}
	return append(b, rw.check...)
}

// maxLoopFirst is how many instructions loopFirst reads at most.
const maxLoopFirst = 64

// loopFirst reports whether a function body (after its locals) enters a
// loop before it can call, branch or return: only blocks and plain
// instructions (no control, no call) precede its first loop, among the
// first maxLoopFirst instructions. The loop's check then runs at every
// entry before anything else can, and the entry's own check is not
// needed. Go's wasm functions start this way (their resumption loop).
func loopFirst(code []byte) bool {
	r := reader{b: code}
	for range maxLoopFirst {
		op, err := r.byte()
		if err != nil {
			return false
		}
		switch {
		case op == 0x03: // loop
			return true
		case op == 0x02: // block: entered, never left without a branch
			if r.blockType() != nil {
				return false
			}
		case op <= 0x1b && op != 0x01 && op != 0x1a && op != 0x1b:
			// unreachable, if, else, end, br*, return, call*: control
			// (nop, drop and select are plain)
			return false
		case op == 0x40: // memory.grow, a call to the helper
			return false
		default:
			if r.immediates(op) != nil {
				return false
			}
		}
	}
	return false
}

// exit appends the refund of the function's stack charge.
func (rw *rewriter) exit(b []byte, frame uint32) []byte {
	b = append(b, 0x23)
	b = appendU32(b, rw.g.stack)
	b = append(b, 0x41)
	b = appendS33(b, int64(frame))
	b = append(b, 0x6b, 0x24) // i32.sub global.set
	return appendU32(b, rw.g.stack)
}

// appendS33 appends v as a signed LEB128 (an i32.const operand or a block
// type index).
func appendS33(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
