package rustre

import (
	"sync"
	"testing"
)

// A Regexp and its Template are shared by every goroutine that evaluates
// rules: hammer both, on the Go path and on the Unicode \b backtracker.
func TestConcurrentUse(t *testing.T) {
	re := mustCompile(t, `\b(\w+)\.py\b`)
	tm := re.Template("$1-py")
	subjects := map[string]string{
		"python3 /srv/app.py --x": "python3 /srv/app-py --x",
		"python3 /srv/äpp.py --x": "python3 /srv/äpp-py --x",
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for s, want := range subjects {
					if got := tm.ReplaceAllString(s); got != want || !re.MatchString(s) {
						t.Errorf("ReplaceAllString(%q) = %q, want %q", s, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
