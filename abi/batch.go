package abi

// Batch and BatchResult field ids (ABI.md, "Batch").
const (
	batchRecord      = 1
	batchResult      = 1
	batchEntryIndex  = 1
	batchEntryResult = 2
)

// AppendBatch appends a Batch of recs (field 1, repeated nested Record, each
// encoded as AppendRecord does with allowed) and returns the extended
// buffer. Records are numbered by their position, from 0. It does not
// allocate when dst has room.
func AppendBatch(dst []byte, recs []Record, allowed Fields) []byte {
	for i := range recs {
		dst = appendUvarint(dst, batchRecord)
		mark := len(dst)
		dst = AppendRecord(dst, &recs[i], allowed)
		dst = endNested(dst, mark)
	}
	return dst
}

// AppendBatchRecord appends one record that is already encoded (the bytes
// AppendRecord wrote, e.g. kept from an earlier tick) to a Batch in dst and
// returns the extended buffer: the framing AppendBatch writes around each
// record. Records are numbered in the order they are appended, from 0. It
// does not allocate when dst has room.
func AppendBatchRecord(dst, rec []byte) []byte {
	dst = appendUvarint(dst, batchRecord)
	dst = appendUvarint(dst, uint64(len(rec)))
	return append(dst, rec...)
}

// DecodeBatch decodes a Batch and calls fn for each record with its index
// (0, 1, ...) and the decoded record, stopping at fn's first error, which it
// returns as is. The *Record passed to fn is the same on every call and its
// slices are overwritten by the next record: fn may keep the strings, not
// the slices. The records' strings share one copy of the batch's bytes
// (one allocation per batch, kept alive while any of them is in use).
func DecodeBatch(b []byte, fn func(i int, r *Record) error) error {
	var r Record
	return DecodeBatchInto(b, &r, fn)
}

// DecodeBatchInto is DecodeBatch decoding every record into r, the caller's
// (whose slices it reuses), so that a guest that keeps one Record for all
// calls copies none.
func DecodeBatchInto(b []byte, r *Record, fn func(i int, r *Record) error) error {
	i := 0
	s := string(b)
	for off := 0; off < len(b); {
		id, start, end, err := field(b, off)
		if err != nil {
			return decodeErr("batch", id, off, err)
		}
		if id == batchRecord {
			if err := decodeRecord(b[start:end], s[start:end], r); err != nil {
				return decodeErr("batch", id, start, err)
			}
			if err := fn(i, r); err != nil {
				return err
			}
			i++
		}
		off = end
	}
	return nil
}

// IndexedResult is one entry of a BatchResult: the result for the record at
// Index in the batch. A BatchResult lists only the records that changed.
type IndexedResult struct {
	Index  int
	Result Result
}

// AppendBatchResult appends a BatchResult with the entries of rs (field 1,
// repeated nested {1 index, 2 result}) and returns the extended buffer. An
// entry whose Result is empty is still written; callers leave unchanged
// records out. It does not allocate when dst has room.
func AppendBatchResult(dst []byte, rs []IndexedResult) []byte {
	for i := range rs {
		dst = appendUvarint(dst, batchResult)
		mark := len(dst)
		dst = appendUint(dst, batchEntryIndex, nonNeg(rs[i].Index))
		dst = appendUvarint(dst, batchEntryResult)
		inner := len(dst)
		dst = AppendResult(dst, &rs[i].Result)
		dst = endNested(dst, inner)
		dst = endNested(dst, mark)
	}
	return dst
}

// DecodeBatchResult decodes a BatchResult and calls fn for each entry,
// stopping at fn's first error, which it returns as is. Each IndexedResult
// is fresh and belongs to fn; its strings share one copy of its entry's
// bytes, so keeping one result does not keep the others alive. An entry without an index is ErrMalformed; the
// decoder does not check indexes against the batch (the host does).
func DecodeBatchResult(b []byte, fn func(IndexedResult) error) error {
	for off := 0; off < len(b); {
		id, start, end, err := field(b, off)
		if err != nil {
			return decodeErr("batch result", id, off, err)
		}
		if id == batchResult {
			ir, err := decodeEntry(b[start:end], string(b[start:end]))
			if err != nil {
				return decodeErr("batch result", id, start, err)
			}
			if err := fn(ir); err != nil {
				return err
			}
		}
		off = end
	}
	return nil
}

// decodeEntry decodes one BatchResult entry. The errors are sentinels; the
// caller adds the position.
func decodeEntry(b []byte, s string) (IndexedResult, error) {
	var ir IndexedResult
	hasIndex := false
	for off := 0; off < len(b); {
		id, start, end, err := field(b, off)
		if err != nil {
			return ir, err
		}
		switch id {
		case batchEntryIndex:
			if ir.Index, err = fieldInt(b[start:end]); err != nil {
				return ir, err
			}
			hasIndex = true
		case batchEntryResult:
			if err := decodeResult(b[start:end], s[start:end], &ir.Result); err != nil {
				return ir, err
			}
		}
		off = end
	}
	if !hasIndex {
		return ir, ErrMalformed
	}
	return ir, nil
}
