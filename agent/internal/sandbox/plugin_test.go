package sandbox

import (
	"errors"
	"testing"

	"github.com/proctag/proctag/abi"
)

func TestLoadFileAndCall(t *testing.T) {
	logger, _ := testLogger(t)
	p, err := LoadFile(t.Context(), behaveWasm, behave("cli", func(p *Spec) {
		p.Path = ""
		p.Scope = Scope{UIDs: []int{1000}}
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
