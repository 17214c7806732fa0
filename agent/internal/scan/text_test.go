package scan

import (
	"testing"
	"unsafe"
)

// TestTexts checks that texts gives back each content, the empty one
// without a copy, that equal contents share one copy, and that a reset
// keeps only what keep put back: a content only gone processes had gets
// a new copy after it.
func TestTexts(t *testing.T) {
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	for _, ts := range []*texts{newTexts(), nil} {
		for _, s := range []string{"", "0::/\n", "nginx: worker process"} {
			if got := ts.intern([]byte(s)); got != s {
				t.Errorf("intern(%q) = %q", s, got)
			}
		}
	}
	ts := newTexts()
	kept, gone := ts.intern([]byte("0::/kubepods/pod1/abc\n")), ts.intern([]byte("/usr/bin/old"))
	if again := ts.intern([]byte("0::/kubepods/pod1/abc\n")); !same(kept, again) {
		t.Error("two interns of one content do not share it")
	}
	ts.reset()
	ts.keep(kept)
	if again := ts.intern([]byte("0::/kubepods/pod1/abc\n")); !same(kept, again) {
		t.Error("a content kept across a reset is copied again")
	}
	if again := ts.intern([]byte("/usr/bin/old")); same(gone, again) || again != gone {
		t.Errorf("a content nobody kept across a reset: %q, the old copy %v", again, same(gone, again))
	}
	if len(ts.m) != 2 {
		t.Errorf("texts holds %d contents, want 2", len(ts.m))
	}
}
