package rules

import (
	"sync"
	"testing"
)

// A Set is shared: the run loop's Evaluator, `explain` and `check` use it
// at the same time. Under -race, many Evaluators over one Set, Lint and
// Explain must not race and must agree.
func TestSetSharedByEvaluators(t *testing.T) {
	s := mustCompile(t, benchSpecs, nil)
	procs := benchProcs(300)
	want := NewEvaluator(s, false).Evaluate(procs)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 8 {
		wg.Go(func() {
			e := NewEvaluator(s, false)
			for range 5 {
				got := e.Evaluate(procs)
				for i := range got {
					if !sameVerdict(got[i], want[i]) {
						errs <- procs[i].ProcessName
						return
					}
				}
				if g%2 == 0 {
					s.Lint()
					e.Explain(procs, procs[g].PID)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("verdict for %q differs between evaluators", name)
	}
}
