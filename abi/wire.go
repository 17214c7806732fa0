package abi

// maxVarintLen is the longest uvarint of a 64-bit value.
const maxVarintLen = 10

// maxInt is the largest Go int on the platform (64 bits on linux/amd64 and
// wasip1/wasm alike, but the code does not assume it).
const maxInt = int(^uint(0) >> 1)

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// appendString appends a length-delimited string field.
func appendString(b []byte, id uint64, s string) []byte {
	b = appendUvarint(b, id)
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendUint appends an integer field: the value's uvarint, framed.
func appendUint(b []byte, id, v uint64) []byte {
	b = appendUvarint(b, id)
	b = appendUvarint(b, uint64(uvarintLen(v)))
	return appendUvarint(b, v)
}

// appendTag appends a nested Tag message as field id.
func appendTag(b []byte, id uint64, t *Tag) []byte {
	n := 1 + uvarintLen(uint64(len(t.Key))) + len(t.Key) +
		1 + uvarintLen(uint64(len(t.Value))) + len(t.Value)
	b = appendUvarint(b, id)
	b = appendUvarint(b, uint64(n))
	b = appendString(b, tagKey, t.Key)
	return appendString(b, tagValue, t.Value)
}

// endNested frames the bytes appended since mark as the body of a nested
// field whose id was appended just before mark: it inserts the body's length
// at mark, moving the body right by the length's size.
func endNested(b []byte, mark int) []byte {
	n := len(b) - mark
	l := uvarintLen(uint64(n))
	for range l {
		b = append(b, 0)
	}
	copy(b[mark+l:], b[mark:mark+n])
	appendUvarint(b[mark:mark], uint64(n))
	return b
}

// uvarint decodes a uvarint at b[off:], returning the value and the offset
// after it.
func uvarint(b []byte, off int) (uint64, int, error) {
	var v uint64
	for i := 0; i < maxVarintLen; i++ {
		if off+i >= len(b) {
			return 0, off, ErrTruncated
		}
		c := b[off+i]
		if i == maxVarintLen-1 && c > 1 {
			return 0, off, ErrOverflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, off + i + 1, nil
		}
	}
	return 0, off, ErrOverflow
}

// field reads one field header and its bytes at b[off:]: the id, the
// offsets of the value, and the offset after the field. A failure reports
// the id when it was read.
func field(b []byte, off int) (id uint64, start, end int, err error) {
	// Fast path: an id and a length of one byte each, as for almost every
	// field; it saves two calls, which are dear in a wasm guest.
	if off >= 0 && off+1 < len(b) && b[off]-1 < 0x7f && b[off+1] < 0x80 {
		p, n := off+2, int(b[off+1])
		if n > len(b)-p {
			return uint64(b[off]), p, p, ErrTruncated
		}
		return uint64(b[off]), p, p + n, nil
	}
	id, p, err := uvarint(b, off)
	if err != nil {
		return 0, off, off, err
	}
	if id == 0 {
		return 0, off, off, ErrMalformed
	}
	n, p, err := uvarint(b, p)
	if err != nil {
		return id, p, p, err
	}
	if n > uint64(len(b)-p) {
		return id, p, p, ErrTruncated
	}
	return id, p, p + int(n), nil
}

// fieldUint decodes an integer field's value, which must be exactly one
// uvarint.
func fieldUint(v []byte) (uint64, error) {
	if len(v) == 0 {
		return 0, ErrTruncated
	}
	u, n, err := uvarint(v, 0)
	if err != nil {
		return 0, err
	}
	if n != len(v) {
		return 0, ErrMalformed
	}
	return u, nil
}

// fieldInt decodes a non-negative integer field into an int.
func fieldInt(v []byte) (int, error) {
	u, err := fieldUint(v)
	if err != nil {
		return 0, err
	}
	if u > uint64(maxInt) {
		return 0, ErrOverflow
	}
	return int(u), nil
}
