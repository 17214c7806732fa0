package abi

import (
	"reflect"
	"testing"
)

// FuzzDecodeRecord checks that any input either fails with a *DecodeError
// or decodes to a record that encodes and decodes to itself.
func FuzzDecodeRecord(f *testing.F) {
	full := fullRecord()
	f.Add(AppendRecord(nil, &full, FieldsAll))                                            // every field, multi-byte varints
	f.Add([]byte{})                                                                       // the empty record
	f.Add([]byte{0x01, 0x02, 0xac, 0x02, 0x04, 0x05, 'n', 'g', 'i', 'n', 'x'})            // ABI.md's example
	f.Add([]byte{0x63, 0x01, 'z', 0x01, 0x01, 0x07})                                      // unknown field 99 before pid
	f.Add([]byte{0x0c, 0x02, 0x01, 0x05})                                                 // tag with a truncated key
	f.Add([]byte{0x01, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}) // varint overflow
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := DecodeRecord(b, &r); err != nil {
			assertDecodeError(t, err)
			return
		}
		var again Record
		if err := DecodeRecord(AppendRecord(nil, &r, r.Present), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		assertRecord(t, again, r)
	})
}

// FuzzDecodeResult checks the same round trip for results.
func FuzzDecodeResult(f *testing.F) {
	f.Add(AppendResult(nil, &Result{Rename: "x", HasRename: true, SetTags: []Tag{{"k", "v"}}, RemoveTags: []string{"r"}, Drop: true})) // every op
	f.Add([]byte{})                                                                                                                    // unchanged
	f.Add([]byte{0x04, 0x01, 0x07})                                                                                                    // drop with a value other than 1
	f.Add([]byte{0x09, 0x02, 'h', 'i'})                                                                                                // unknown op from a newer minor
	f.Add([]byte{0x02, 0x03, 0x01, 0x05, 'k'})                                                                                         // tag key longer than its tag
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Result
		if err := DecodeResult(b, &r); err != nil {
			assertDecodeError(t, err)
			return
		}
		var again Result
		if err := DecodeResult(AppendResult(nil, &r), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		assertResult(t, again, r)
	})
}

// FuzzDecodeBatch checks that batches decode to records that re-encode to
// an equivalent batch.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, []Record{fullRecord(), {PID: 2}}, FieldsAll)) // two records, one large
	f.Add([]byte{})                                                      // no records
	f.Add([]byte{0x01, 0x00, 0x01, 0x00})                                // two empty records
	f.Add([]byte{0x01, 0x09, 0x01})                                      // record longer than the batch
	f.Fuzz(func(t *testing.T, b []byte) {
		var recs []Record
		err := DecodeBatch(b, func(i int, r *Record) error {
			if i != len(recs) {
				t.Fatalf("index %d, want %d", i, len(recs))
			}
			c := *r
			c.Argv, c.Tags, c.Env = append([]string(nil), r.Argv...), append([]Tag(nil), r.Tags...), append([]string(nil), r.Env...)
			recs = append(recs, c)
			return nil
		})
		if err != nil {
			assertDecodeError(t, err)
			return
		}
		n := 0
		err = DecodeBatch(AppendBatch(nil, recs, FieldsAll), func(i int, r *Record) error {
			n++
			return nil
		})
		if err != nil || n != len(recs) {
			t.Fatalf("re-decode: %d records, %v; want %d", n, err, len(recs))
		}
	})
}

// FuzzDecodeBatchResult checks the round trip of batch results.
func FuzzDecodeBatchResult(f *testing.F) {
	f.Add(AppendBatchResult(nil, []IndexedResult{{Index: 1, Result: Result{Drop: true}}, {Index: 300}})) // two entries, a two-byte index
	f.Add([]byte{})                                                                                      // nothing changed
	f.Add([]byte{0x01, 0x02, 0x02, 0x00})                                                                // entry without an index
	f.Add([]byte{0x01, 0x03, 0x01, 0x01, 0x00})                                                          // index only, no result
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []IndexedResult
		err := DecodeBatchResult(b, func(ir IndexedResult) error { got = append(got, ir); return nil })
		if err != nil {
			assertDecodeError(t, err)
			return
		}
		var again []IndexedResult
		if err := DecodeBatchResult(AppendBatchResult(nil, got), func(ir IndexedResult) error { again = append(again, ir); return nil }); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-decode: %d entries, want %d", len(again), len(got))
		}
		for i := range got {
			if again[i].Index != got[i].Index {
				t.Errorf("entry %d index %d, want %d", i, again[i].Index, got[i].Index)
			}
			assertResult(t, again[i].Result, got[i].Result)
		}
	})
}

func assertDecodeError(t *testing.T, err error) {
	t.Helper()
	de, ok := err.(*DecodeError)
	if !ok {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	if de.Err == nil || reflect.ValueOf(de.Err).IsNil() {
		t.Fatalf("DecodeError without a cause: %#v", de)
	}
}
