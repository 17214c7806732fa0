package sandbox

import (
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
)

func batchOut(rs ...abi.IndexedResult) []byte { return abi.AppendBatchResult(nil, rs) }

func TestDecodeBatchOutput(t *testing.T) {
	tag := abi.Result{SetTags: []abi.Tag{{Key: "k", Value: "v"}}}
	tests := []struct {
		name    string
		out     []byte
		n       int
		wantErr string
		changed []int // indexes with a non-empty result
	}{
		{"no entries: all unchanged", nil, 3, "", nil},
		{"sparse entries", batchOut(abi.IndexedResult{Index: 2, Result: tag}, abi.IndexedResult{Index: 0, Result: tag}), 3, "", []int{0, 2}},
		{"index past the batch", batchOut(abi.IndexedResult{Index: 3, Result: tag}), 3, "result index 3 outside the batch of 3", nil},
		{"index twice: the later entry replaces the earlier", batchOut(abi.IndexedResult{Index: 1, Result: tag}, abi.IndexedResult{Index: 1}), 3, "", nil},
		{"index twice, the later changed", batchOut(abi.IndexedResult{Index: 1}, abi.IndexedResult{Index: 1, Result: tag}), 3, "", []int{1}},
		{"65 tags in one entry", batchOut(abi.IndexedResult{Index: 0, Result: abi.Result{SetTags: make([]abi.Tag, 65)}}), 3, "too many tags", nil},
		{"truncated", batchOut(abi.IndexedResult{Index: 1, Result: tag})[:5], 3, "decode batch result", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBatchOutput(tt.out, tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.n {
				t.Fatalf("decodeBatchOutput = %d results, %v", len(got), err)
			}
			for i, r := range got {
				want := false
				for _, c := range tt.changed {
					want = want || c == i
				}
				if r.Empty() == want {
					t.Errorf("result %d = %+v, want changed %v", i, r, want)
				}
			}
		})
	}
}

func FuzzDecodeBatchOutput(f *testing.F) {
	tag := abi.Result{SetTags: []abi.Tag{{Key: "k", Value: "v"}}}
	f.Add(batchOut(abi.IndexedResult{Index: 0, Result: tag}), 2)                       // one entry
	f.Add(batchOut(abi.IndexedResult{Index: 5, Result: tag}), 2)                       // index out of range
	f.Add(batchOut(abi.IndexedResult{Index: 1}, abi.IndexedResult{Index: 1}), 2)       // duplicate index
	f.Add([]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 1) // length overflow
	f.Add([]byte{}, 0)                                                                 // empty batch
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 1024 {
			return
		}
		got, err := decodeBatchOutput(out, n)
		if err == nil && len(got) != n {
			t.Fatalf("%d results for a batch of %d", len(got), n)
		}
	})
}
