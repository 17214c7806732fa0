package scan

import (
	"testing"
	"unsafe"
)

// TestText checks that a text gives back its content, the empty one as
// the zero text, and that texts of equal contents share one copy.
func TestText(t *testing.T) {
	for _, s := range []string{"", "0::/\n", "nginx: worker process"} {
		if got := makeText([]byte(s)).String(); got != s {
			t.Errorf("makeText(%q).String() = %q", s, got)
		}
	}
	if (text{}).String() != "" || makeText(nil) != (text{}) {
		t.Error("the zero text is not the empty one")
	}
	a, b := makeText([]byte("0::/kubepods/pod1/abc\n")), makeText([]byte("0::/kubepods/pod1/abc\n"))
	if a != b || unsafe.StringData(a.String()) != unsafe.StringData(b.String()) {
		t.Error("two texts of one content do not share it")
	}
}
