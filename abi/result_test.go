package abi

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestResultRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		res  Result
	}{
		{"unchanged", Result{}},
		{"rename", Result{Rename: "billing", HasRename: true}},
		{"rename to empty is kept apart from no rename", Result{HasRename: true}},
		{"tags set and removed", Result{SetTags: []Tag{{"acme.io/team", "pay"}, {"acme.io/tier", ""}}, RemoveTags: []string{"acme.io/old"}}},
		{"drop", Result{Drop: true}},
		{"everything", Result{Rename: "x", HasRename: true, SetTags: []Tag{{"k", "v"}}, RemoveTags: []string{"a", "b"}, Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendResult(nil, &tt.res)
			if tt.res.Empty() != (len(b) == 0) {
				t.Errorf("Empty() = %v but encoding has %d bytes", tt.res.Empty(), len(b))
			}
			got := Result{SetTags: []Tag{{"stale", "stale"}}, RemoveTags: []string{"stale"}, Drop: true}
			if err := DecodeResult(b, &got); err != nil {
				t.Fatalf("DecodeResult: %v", err)
			}
			assertResult(t, got, tt.res)
		})
	}
}

func assertResult(t *testing.T, got, want Result) {
	t.Helper()
	norm := func(r Result) Result {
		if len(r.SetTags) == 0 {
			r.SetTags = nil
		}
		if len(r.RemoveTags) == 0 {
			r.RemoveTags = nil
		}
		return r
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("result mismatch\n got: %+v\nwant: %+v", g, w)
	}
}

// manyTags encodes a Result that sets key "k" set times and removes it
// removed times.
func manyTags(set, removed int) []byte {
	var b []byte
	for range set {
		b = append(b, 0x02, 0x03, 0x01, 0x01, 'k')
	}
	for range removed {
		b = append(b, 0x03, 0x01, 'k')
	}
	return b
}

func TestDecodeResultWire(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Result
		wantErr error
	}{
		{"drop zero means keep", []byte{0x04, 0x01, 0x00}, Result{}, nil},
		{"drop any non-zero means drop", []byte{0x04, 0x01, 0x07}, Result{Drop: true}, nil},
		{"unknown op from a newer minor is skipped", []byte{0x09, 0x02, 'h', 'i', 0x04, 0x01, 0x01}, Result{Drop: true}, nil},
		{"tag without value", []byte{0x02, 0x03, 0x01, 0x01, 'k'}, Result{SetTags: []Tag{{Key: "k"}}}, nil},
		{"tag with unknown inner field", []byte{0x02, 0x06, 0x01, 0x01, 'k', 0x05, 0x01, 'z'}, Result{SetTags: []Tag{{Key: "k"}}}, nil},
		{"drop without a value", []byte{0x04, 0x00}, Result{}, ErrTruncated},
		{"rename cut short", []byte{0x01, 0x04, 'a', 'b'}, Result{}, ErrTruncated},
		{"tag with field zero", []byte{0x02, 0x02, 0x00, 0x00}, Result{}, ErrMalformed},
		{"64 tags set and 64 removed", manyTags(64, 64), Result{SetTags: slices.Repeat([]Tag{{Key: "k"}}, 64), RemoveTags: slices.Repeat([]string{"k"}, 64)}, nil},
		{"a 65th tag set", manyTags(65, 0), Result{}, ErrTooMany},
		{"a 65th tag removed", manyTags(0, 65), Result{}, ErrTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Result
			err := DecodeResult(tt.in, &got)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeResult(% x) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				assertResult(t, got, tt.want)
			}
		})
	}
}
