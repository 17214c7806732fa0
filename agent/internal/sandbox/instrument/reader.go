package instrument

import "math"

// reader decodes the WebAssembly binary encoding from b; every method
// returns ErrMalformed on truncated or over-long input.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, malformed("unexpected end at offset %d", r.pos)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) skip(n int) error {
	if n < 0 || n > len(r.b)-r.pos {
		return malformed("unexpected end at offset %d", r.pos)
	}
	r.pos += n
	return nil
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits {
			return 0, malformed("integer too long at offset %d", r.pos)
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if bits < 64 && v>>bits != 0 {
				return 0, malformed("integer too large at offset %d", r.pos)
			}
			return v, nil
		}
	}
}

// sleb reads a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits {
			return 0, malformed("integer too long at offset %d", r.pos)
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	if v > math.MaxUint32 {
		return 0, malformed("integer too large at offset %d", r.pos)
	}
	return uint32(v), err
}

// vecBytes reads a u32 length and that many bytes.
func (r *reader) vecBytes() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	start := r.pos
	if err := r.skip(int(n)); err != nil {
		return nil, err
	}
	return r.b[start:r.pos], nil
}

func (r *reader) name() (string, error) {
	b, err := r.vecBytes()
	return string(b), err
}

// limits reads table or memory limits; shared and 64-bit memories are
// refused.
func (r *reader) limits() error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	switch flag {
	case 0x00:
		_, err = r.u32()
	case 0x01:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	default:
		return unsupported("limits flag %#x (shared or 64-bit memory)", flag)
	}
	return err
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
