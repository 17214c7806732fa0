package instrument

// parse splits wasm into sections and reads what the rewrite needs: the
// types, the imports, the defined functions' types, the globals, the
// exports' names and the start function, checking the counts against lim
// and the fixed bounds.
func parse(wasm []byte, lim Limits) (*wasmModule, error) {
	secs, err := split(wasm)
	if err != nil {
		return nil, err
	}
	m := &wasmModule{secs: secs, start: -1}
	for _, s := range secs {
		r := reader{b: s.body}
		switch s.id {
		case secType:
			err = m.readTypes(&r)
		case secImport:
			err = m.readImports(&r, lim)
		case secFunction:
			err = m.readFunctions(&r, lim)
		case secTable:
			var n uint32
			if n, err = r.u32(); err == nil {
				err = overLimit("the table limit", "the number of tables", uint64(n), maxTables)
			}
		case secMemory:
			var n uint32
			if n, err = r.u32(); err == nil {
				m.memories += n
			}
		case secGlobal:
			m.hasGlobal = true
			if m.definedGlobals, err = r.u32(); err == nil {
				m.globals += m.definedGlobals
				err = overLimit("the global limit", "the number of globals", uint64(m.globals), maxGlobals)
			}
		case secExport:
			m.hasExport = true
			err = m.readExports(&r)
		case secStart:
			var idx uint32
			if idx, err = r.u32(); err == nil {
				m.start = int64(idx)
			}
		case secElement:
			err = m.readElements(&r, lim)
		case secData:
			var n uint32
			if n, err = r.u32(); err == nil {
				err = overLimit("the segment limit", "the number of segments", uint64(n), maxSegments)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *wasmModule) readTypes(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if err := overLimit("the type limit", "the number of types", uint64(n), maxTypes); err != nil {
		return err
	}
	m.types = make([]funcType, 0, n)
	for i := range n {
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return malformed("type %d has form %#x, not a function type", i, form)
		}
		var t funcType
		if t.params, err = r.valTypes(); err != nil {
			return err
		}
		if t.results, err = r.valTypes(); err != nil {
			return err
		}
		m.types = append(m.types, t)
	}
	if !r.done() {
		return malformed("type section has %d trailing bytes", len(r.b)-r.pos)
	}
	return nil
}

// valTypes reads a vector of value types and returns its bytes.
func (r *reader) valTypes() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	start := r.pos
	if err := r.skip(int(n)); err != nil {
		return nil, err
	}
	for _, t := range r.b[start:r.pos] {
		if err := valType(t); err != nil {
			return nil, err
		}
	}
	return r.b[start:r.pos], nil
}

func (m *wasmModule) readImports(r *reader, lim Limits) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if err := overLimit("the import limit", "the number of imports", uint64(n), maxImports); err != nil {
		return err
	}
	for i := range n {
		if _, err := r.name(); err != nil {
			return err
		}
		field, err := r.name()
		if err != nil {
			return err
		}
		if len(field) >= len(ReservedPrefix) && field[:len(ReservedPrefix)] == ReservedPrefix {
			return unsupported("import %q uses the reserved prefix %s", field, ReservedPrefix)
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // function: type index
			var t uint32
			if t, err = r.u32(); err == nil && int(t) >= len(m.types) {
				err = malformed("import %d has type %d of %d", i, t, len(m.types))
			}
			m.importedFuncs++
		case 0x01: // table: reference type, limits
			var min uint32
			if _, err = r.byte(); err == nil {
				if min, _, err = r.tableLimits(); err == nil {
					err = overLimit("max-table-elements", "an imported table's initial size", uint64(min), uint64(lim.MaxTableElements))
				}
			}
		case 0x02: // memory: limits
			m.memories++
			err = r.limits()
		case 0x03: // global: value type, mutability
			m.globals++
			var t byte
			if t, err = r.byte(); err == nil {
				if err = valType(t); err == nil {
					_, err = r.byte()
				}
			}
		default:
			err = malformed("import kind %#x", kind)
		}
		if err != nil {
			return err
		}
	}
	if !r.done() {
		return malformed("import section has %d trailing bytes", len(r.b)-r.pos)
	}
	return nil
}

func (m *wasmModule) readFunctions(r *reader, lim Limits) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if err := overLimit("max-functions", "the number of functions", uint64(n)+uint64(m.importedFuncs), uint64(lim.MaxFunctions)); err != nil {
		return err
	}
	m.funcTypes = make([]uint32, 0, n)
	for i := range n {
		t, err := r.u32()
		if err != nil {
			return err
		}
		if int(t) >= len(m.types) {
			return malformed("function %d has type %d of %d", i, t, len(m.types))
		}
		m.funcTypes = append(m.funcTypes, t)
	}
	if !r.done() {
		return malformed("function section has %d trailing bytes", len(r.b)-r.pos)
	}
	return nil
}

func (m *wasmModule) readExports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if err := overLimit("the export limit", "the number of exports", uint64(n), maxExports); err != nil {
		return err
	}
	for range n {
		name, err := r.name()
		if err != nil {
			return err
		}
		if len(name) >= len(ReservedPrefix) && name[:len(ReservedPrefix)] == ReservedPrefix {
			return unsupported("the module exports %s: names starting with %s are reserved for the host", name, ReservedPrefix)
		}
		if _, err := r.byte(); err != nil {
			return err
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	if !r.done() {
		return malformed("export section has %d trailing bytes", len(r.b)-r.pos)
	}
	return nil
}

// tableLimits reads a table's limits; with no maximum, max is the largest
// u32.
func (r *reader) tableLimits() (min, max uint32, err error) {
	flag, err := r.byte()
	if err != nil {
		return 0, 0, err
	}
	switch flag {
	case 0x00:
		min, err = r.u32()
		max = 1<<32 - 1
	case 0x01:
		if min, err = r.u32(); err == nil {
			max, err = r.u32()
		}
	default:
		return 0, 0, unsupported("table limits flag %#x", flag)
	}
	return min, max, err
}

// readElements checks the element segments: their number, and the total
// of their elements against MaxTableElements (the engine keeps every
// element, whether a table receives it or not).
func (m *wasmModule) readElements(r *reader, lim Limits) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	if err := overLimit("the segment limit", "the number of segments", uint64(n), maxSegments); err != nil {
		return err
	}
	var total uint64
	for range n {
		flag, err := r.u32()
		if err != nil {
			return err
		}
		if flag > 7 {
			return malformed("element segment flag %d", flag)
		}
		if flag&1 == 0 { // active: a table index (flag 2, 6), an offset
			if flag&2 != 0 {
				if _, err := r.u32(); err != nil {
					return err
				}
			}
			if err := r.constExpr(); err != nil {
				return err
			}
		}
		if flag&3 != 0 { // an element kind (0-3) or a reference type (4-7)
			if _, err := r.byte(); err != nil {
				return err
			}
		}
		count, err := r.u32()
		if err != nil {
			return err
		}
		total += uint64(count)
		if err := overLimit("max-table-elements", "the elements of the element segments", total, uint64(lim.MaxTableElements)); err != nil {
			return err
		}
		for range count {
			if flag&4 != 0 {
				err = r.constExpr()
			} else {
				_, err = r.u32()
			}
			if err != nil {
				return err
			}
		}
	}
	if !r.done() {
		return malformed("element section has %d trailing bytes", len(r.b)-r.pos)
	}
	return nil
}

// constExpr skips a constant expression up to its end.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		if op == 0x0b {
			return nil
		}
		if op == 0x02 || op == 0x03 || op == 0x04 {
			return malformed("block in a constant expression")
		}
		if err := r.immediates(op); err != nil {
			return err
		}
	}
}
