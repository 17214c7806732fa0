package wasmhost

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/config"
)

func TestLoadFileAndCall(t *testing.T) {
	logger, _ := testLogger(t)
	p, err := LoadFile(t.Context(), behaveWasm, behave("cli", func(p *config.Plugin) {
		p.Path = ""
		p.Scope = config.Scope{UIDs: []int{1000}}
	}), logger, WithCacheDir(sharedCacheDir))
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(t.Context()) })
	if p.Name() != "cli" || !p.HasBatch() || len(p.SHA256()) != 64 {
		t.Errorf("Name %q HasBatch %v SHA256 %q", p.Name(), p.HasBatch(), p.SHA256())
	}
	tests := []struct {
		name    string
		rec     abi.Record
		wantTag string
		wantErr func(error) bool
	}{
		{"tags", proc(1, "svc").Record, "svc", func(err error) bool { return err == nil }},
		{"violation returns the result too", proc(1, "foreign").Record, "", func(err error) bool { return errors.Is(err, ErrNotGranted) }},
		{"fault", proc(1, "trap").Record, "", func(err error) bool { return faultKind(err) == FaultTrap }},
		{"out of scope", func() abi.Record { r := proc(1, "svc").Record; r.UID = 0; return r }(), "", func(err error) bool { return errors.Is(err, ErrOutOfScope) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, took, err := p.Call(t.Context(), tt.rec)
			if !tt.wantErr(err) {
				t.Fatalf("Call error = %v", err)
			}
			if v, _ := tagValue(res.SetTags, "test.name"); v != tt.wantTag {
				t.Errorf("result %+v, want test.name=%q", res, tt.wantTag)
			}
			if err == nil && took <= 0 {
				t.Errorf("took = %v", took)
			}
		})
	}
	if _, err := LoadFile(t.Context(), modulePath("wrong_major"), handSpec("x"), logger); faultKind(err) != FaultLoad {
		t.Errorf("LoadFile(wrong major) = %v", err)
	}
}

// TestHostHammer runs Apply with parallel chunks on a pool of 4 while Stats
// and plugin-dir polls run, for the race detector.
func TestHostHammer(t *testing.T) {
	dir := t.TempDir()
	dropIn(t, dir, "d", modulePath("hand"), "tag-prefix: hand.\n")
	h, _ := newHost(t, Config{PluginDir: dir, Plugins: []config.Plugin{behave("b", func(p *config.Plugin) { p.Instances = 4 })}})
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
