//go:build !wasip1

package sdk

import (
	"reflect"
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
)

// fuzzHandler uses every accessor a plugin has and decides from what it
// reads, so that a decoding mistake of the guest side shows in its output.
func fuzzHandler(p *Process, out *Result) {
	want := expectFor(&p.Record)
	if want.HasRename {
		out.Rename(want.Rename)
	}
	for _, tg := range want.SetTags {
		out.SetTag(tg.Key, tg.Value)
	}
	for _, k := range want.RemoveTags {
		out.RemoveTag(k)
	}
	if want.Drop {
		out.Drop()
	}
}

// expectFor is fuzzHandler's decision, computed from a record the host
// side decoded on its own (abi.DecodeRecord), without the SDK's accessors.
func expectFor(r *abi.Record) abi.Result {
	var res abi.Result
	p := &Process{Record: *r}
	if p.Has(abi.FieldName) && r.Name != "" {
		res.Rename, res.HasRename = r.Name+"-seen", true
	}
	if v, ok := p.Tag("team"); ok {
		res.SetTags = append(res.SetTags, abi.Tag{Key: "acme.io/team", Value: v})
	}
	if v, ok := p.Getenv("APP"); ok {
		res.SetTags = append(res.SetTags, abi.Tag{Key: "acme.io/app", Value: v})
	}
	for _, tg := range r.Tags {
		if strings.HasPrefix(tg.Key, "acme.io/tmp") && len(res.RemoveTags) < abi.MaxTagsPerResult {
			res.RemoveTags = append(res.RemoveTags, tg.Key)
		}
	}
	res.Drop = r.PID%7 == 3
	return res
}

// FuzzGuestExports feeds any bytes to the guest side of the ABI, the logic
// behind proctag_process and proctag_process_batch: input the host-side
// decoder refuses must give CodeBadInput; input it accepts must give an
// output that the host-side decoder reads back as the handler's decision
// for each record (a batch: only the changed ones, in order, by index).
func FuzzGuestExports(f *testing.F) {
	rec := abi.Record{PID: 10, Name: "java", ProcessName: "java", Argv: []string{"java", "-jar", "a.jar"},
		Tags: []abi.Tag{{Key: "team", Value: "pay"}, {Key: "acme.io/tmp-x", Value: "1"}}, Env: []string{"APP=billing", "APPX=no"}}
	dropped := abi.Record{PID: 3}
	f.Add(abi.AppendRecord(nil, &rec, abi.FieldsAll))                                     // every op of the handler
	f.Add(abi.AppendRecord(nil, &dropped, abi.FieldsAll))                                 // a drop, nothing else
	f.Add([]byte{})                                                                       // an empty record: unchanged
	f.Add(abi.AppendBatch(nil, []abi.Record{rec, {PID: 1}, dropped}, abi.FieldsAll))      // a batch with an unchanged record between
	f.Add([]byte{0x0c, 0x02, 0x01, 0x05})                                                 // a tag with a truncated key
	f.Add([]byte{0x01, 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}) // a varint overflow
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newState(fuzzHandler)
		SetLogOutput(nopWriter{})

		var host abi.Record
		hostErr := abi.DecodeRecord(in, &host)
		out, code := s.process(in)
		switch {
		case hostErr != nil && code != abi.CodeBadInput:
			t.Fatalf("process: host refuses the record (%v), guest answers code %d", hostErr, code)
		case hostErr == nil && code != 0:
			t.Fatalf("process: host decodes the record, guest answers code %d", code)
		case hostErr == nil:
			var got abi.Result
			if err := abi.DecodeResult(out, &got); err != nil {
				t.Fatalf("process: the host cannot decode the guest's result: %v", err)
			}
			assertSameResult(t, "process", got, expectFor(&host))
		}

		var want []abi.IndexedResult
		hostErr = abi.DecodeBatch(in, func(i int, r *abi.Record) error {
			if e := expectFor(r); !e.Empty() {
				want = append(want, abi.IndexedResult{Index: i, Result: e})
			}
			return nil
		})
		out, code = s.processBatch(in)
		switch {
		case hostErr != nil && code != abi.CodeBadInput:
			t.Fatalf("batch: host refuses the batch (%v), guest answers code %d", hostErr, code)
		case hostErr == nil && code != 0:
			t.Fatalf("batch: host decodes the batch, guest answers code %d", code)
		case hostErr == nil:
			var got []abi.IndexedResult
			if err := abi.DecodeBatchResult(out, func(ir abi.IndexedResult) error {
				got = append(got, ir)
				return nil
			}); err != nil {
				t.Fatalf("batch: the host cannot decode the guest's results: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("batch: %d results, want %d", len(got), len(want))
			}
			for k := range got {
				if got[k].Index != want[k].Index {
					t.Fatalf("batch: result %d for record %d, want %d", k, got[k].Index, want[k].Index)
				}
				assertSameResult(t, "batch", got[k].Result, want[k].Result)
			}
		}
	})
}

// assertSameResult compares two results as the host applies them (nil and
// empty lists alike).
func assertSameResult(t *testing.T, what string, got, want abi.Result) {
	t.Helper()
	norm := func(r abi.Result) abi.Result {
		if len(r.SetTags) == 0 {
			r.SetTags = nil
		}
		if len(r.RemoveTags) == 0 {
			r.RemoveTags = nil
		}
		return r
	}
	if got, want := norm(got), norm(want); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: guest result %+v, want %+v", what, got, want)
	}
}
