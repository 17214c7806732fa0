//go:build !linux

package natssub

// allocRecs returns a zeroed table of n records and the function that frees
// it (nothing to do: it is an ordinary slice).
func allocRecs(n int) ([]connRec, func()) { return make([]connRec, n), func() {} }
