package abi

import "testing"

// BenchmarkRecordRoundTrip is the per-record work on both sides: the host
// encodes, the guest decodes, with reused buffers.
func BenchmarkRecordRoundTrip(b *testing.B) {
	rec := fullRecord()
	var buf []byte
	var out Record
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], &rec, FieldsDefault)
		if err := DecodeRecord(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkResultRoundTrip is the guest encoding a typical result and the
// host decoding it.
func BenchmarkResultRoundTrip(b *testing.B) {
	res := Result{Rename: "billing", HasRename: true, SetTags: []Tag{{"acme.io/team", "pay"}, {"acme.io/lang", "java"}}}
	var buf []byte
	var out Result
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResult(buf[:0], &res)
		if err := DecodeResult(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchRoundTrip100 encodes and decodes a batch of 100 records;
// ns/op divided by 100 is the per-record cost.
func BenchmarkBatchRoundTrip100(b *testing.B) {
	recs := make([]Record, 100)
	for i := range recs {
		recs[i] = fullRecord()
		recs[i].PID = 1000 + i
	}
	var buf []byte
	fn := func(int, *Record) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatch(buf[:0], recs, FieldsDefault)
		if err := DecodeBatch(buf, fn); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
