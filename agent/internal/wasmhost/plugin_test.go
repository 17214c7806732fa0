package wasmhost

import (
	"fmt"
	"sync"
	"testing"
)

// TestHostHammer runs Apply with parallel chunks on a pool of 4 while Stats
// and plugin-dir polls run, for the race detector.
func TestHostHammer(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "d", modulePath("hand"), "tag-prefix: hand.\n")
	h, _ := newHost(t, Config{PluginDir: dir, Plugins: []PluginSpec{behave("b", func(p *PluginSpec) { p.Instances = 4 })}})
	procs := make([]Input, 300)
	for i := range procs {
		procs[i] = proc(i+1, fmt.Sprintf("p%d", i))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = h.Stats()
			}
		})
	}
	wg.Go(func() {
		for i := range 5 {
			dropIn(t, dir, "d", modulePath("hand"), fmt.Sprintf("tag-prefix: hand.\nconfig: v%d\n", i))
			if err := h.poll(t.Context()); err != nil {
				t.Error(err)
			}
		}
	})
	var applies sync.WaitGroup
	for w := range 2 {
		applies.Go(func() {
			for i := range 5 {
				in := procs
				if (i+w)%2 == 0 {
					in = procs[:150]
				}
				for j, o := range h.Apply(t.Context(), in) {
					if v, _ := tagValue(o.Tags, "test.name"); v != in[j].Record.Name {
						t.Errorf("proc %d: tags %v", j, o.Tags)
						return
					}
				}
			}
		})
	}
	applies.Wait()
	close(stop)
	wg.Wait()
	if st := pluginStats(t, h, "b"); st.Records == 0 || len(st.Faults) != 0 {
		t.Errorf("stats %+v", st)
	}
}
