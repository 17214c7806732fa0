package abi

import (
	"errors"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	recs := []Record{fullRecord(), {PID: 2, Name: "b"}, {}, {PID: 4, Argv: []string{"x"}}}
	allowed := FieldPID | FieldName | FieldArgv
	b := AppendBatch(nil, recs, allowed)
	n := 0
	err := DecodeBatch(b, func(i int, r *Record) error {
		if i != n {
			t.Errorf("index %d, want %d", i, n)
		}
		want := Record{PID: recs[i].PID, Name: recs[i].Name, Argv: recs[i].Argv, Present: FieldPID | FieldName}
		if len(recs[i].Argv) > 0 {
			want.Present |= FieldArgv
		}
		assertRecord(t, *r, want)
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if n != len(recs) {
		t.Errorf("decoded %d records, want %d", n, len(recs))
	}
}

func TestBatchLargeRecordLength(t *testing.T) {
	// A record over 127 bytes needs a two-byte length, which endNested
	// inserts by moving the body.
	long := Record{Cmdline: string(make([]byte, 300))}
	b := AppendBatch(nil, []Record{long, {PID: 9}}, FieldsAll)
	var got []int
	err := DecodeBatch(b, func(i int, r *Record) error {
		got = append(got, len(r.Cmdline), r.PID)
		return nil
	})
	if err != nil || len(got) != 4 || got[0] != 300 || got[3] != 9 {
		t.Errorf("DecodeBatch = %v, %v; want [300 0 0 9]", got, err)
	}
}

func TestDecodeBatchStopsAtCallbackError(t *testing.T) {
	stop := errors.New("stop")
	b := AppendBatch(nil, []Record{{PID: 1}, {PID: 2}, {PID: 3}}, FieldPID)
	calls := 0
	err := DecodeBatch(b, func(i int, r *Record) error {
		calls++
		if r.PID == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Errorf("DecodeBatch = %v after %d calls, want stop after 2", err, calls)
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"record length beyond input", []byte{0x01, 0x09, 0x01}, ErrTruncated},
		{"bad record inside", []byte{0x01, 0x02, 0x01, 0x00}, ErrTruncated},
		{"field zero", []byte{0x00}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeBatch(tt.in, func(int, *Record) error { return nil })
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeBatch(% x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestBatchResultRoundTrip(t *testing.T) {
	in := []IndexedResult{
		{Index: 3, Result: Result{Rename: "x", HasRename: true}},
		{Index: 0, Result: Result{SetTags: []Tag{{"k", "v"}}, Drop: true}},
		{Index: 200, Result: Result{}},
	}
	b := AppendBatchResult(nil, in)
	var got []IndexedResult
	if err := DecodeBatchResult(b, func(ir IndexedResult) error { got = append(got, ir); return nil }); err != nil {
		t.Fatalf("DecodeBatchResult: %v", err)
	}
	if len(got) != len(in) {
		t.Fatalf("got %d entries, want %d", len(got), len(in))
	}
	for i := range in {
		if got[i].Index != in[i].Index {
			t.Errorf("entry %d index = %d, want %d", i, got[i].Index, in[i].Index)
		}
		assertResult(t, got[i].Result, in[i].Result)
	}
	// Entries are fresh: the first entry's tags must not have been
	// overwritten by later ones.
	if len(got[1].Result.SetTags) != 1 || got[1].Result.SetTags[0].Key != "k" {
		t.Errorf("entry 1 tags = %v", got[1].Result.SetTags)
	}
}

func TestDecodeBatchResultErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"entry without index", []byte{0x01, 0x02, 0x02, 0x00}, ErrMalformed},
		{"index not a single varint", []byte{0x01, 0x04, 0x01, 0x02, 0x01, 0x01}, ErrMalformed},
		{"result inside truncated", []byte{0x01, 0x06, 0x01, 0x01, 0x00, 0x02, 0x01, 0x01}, ErrTruncated},
		{"entry cut", []byte{0x01, 0x05, 0x01}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeBatchResult(tt.in, func(IndexedResult) error { return nil })
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeBatchResult(% x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestAppendBatchRecordFramesAsAppendBatch(t *testing.T) {
	recs := []Record{fullRecord(), {PID: 2, Name: "b"}, {}, {Cmdline: string(make([]byte, 300))}}
	for _, allowed := range []Fields{FieldsAll, FieldPID | FieldName, 0} {
		want := AppendBatch(nil, recs, allowed)
		var got []byte
		for i := range recs {
			got = AppendBatchRecord(got, AppendRecord(nil, &recs[i], allowed))
		}
		if string(got) != string(want) {
			t.Errorf("fields %b: AppendBatchRecord gives %x, AppendBatch %x", allowed, got, want)
		}
	}
}

func TestAppendBatchRecordNoAlloc(t *testing.T) {
	rec := AppendRecord(nil, &Record{PID: 7, Name: "x"}, FieldsAll)
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _ = AppendBatchRecord(buf[:0], rec) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
