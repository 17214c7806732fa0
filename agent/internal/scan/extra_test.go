package scan

import "testing"

// TestNextFullAndExtra scans this machine's /proc with full re-reads every
// third scan: extra scans (NextExtra) must not count toward them, and
// NextFull must make the next scan full at once.
func TestNextFullAndExtra(t *testing.T) {
	s := newScanner(t, Config{Root: "/proc", FullRescanEvery: 3})
	var got []bool
	for _, step := range []string{"", "", "extra", "extra", "", "", "full", "", ""} {
		switch step {
		case "extra":
			s.NextExtra()
		case "full":
			s.NextFull()
		}
		got = append(got, scan(t, s).Full)
	}
	// The regular scans are 1, 2, 5, 6, 7 (forced), 8 and 9: full at the
	// 1st, 3rd and 6th of them (scans 1, 5 and 8) and the forced one; a
	// forced full scan does not move the rhythm.
	want := []bool{true, false, false, false, true, false, true, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("full per scan %v, want %v", got, want)
		}
	}
}
