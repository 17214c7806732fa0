package abi

import (
	"runtime"
	"testing"
)

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

// BenchmarkDecodeBatch64 is the guest's share of a batch call: decoding a
// batch of 64 typical records. It is named after the architecture, since
// `make bench` runs it inside a wasm guest (GOOS=wasip1 under wazero's
// CLI), where every call costs more than natively.
func BenchmarkDecodeBatch64(b *testing.B) {
	recs := make([]Record, 64)
	for i := range recs {
		recs[i] = fullRecord()
		recs[i].PID = 1000 + i
	}
	buf := AppendBatch(nil, recs, FieldsDefault)
	b.Run(runtime.GOARCH, func(b *testing.B) {
		n := 0
		fn := func(int, *Record) error { n++; return nil }
		b.ReportAllocs()
		for b.Loop() {
			if err := DecodeBatch(buf, fn); err != nil {
				b.Fatal(err)
			}
		}
		if n != 64*b.N {
			b.Fatalf("decoded %d records, want %d", n, 64*b.N)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/record")
	})
}
