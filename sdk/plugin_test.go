//go:build !wasip1

package sdk

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
)

// newState returns a plugin state with handler h, as Handle would set up.
func newState(h HandlerFunc) *state { return &state{handler: h} }

// captureLog sends Log output to a buffer for the test's duration.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	SetLogOutput(&buf)
	t.Cleanup(func() { SetLogOutput(nopWriter{}) })
	return &buf
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func tagJava(p *Process, out *Result) {
	if p.ProcessName == "java" {
		out.SetTag("acme.io/lang", "java")
	}
}

func TestProcess(t *testing.T) {
	tests := []struct {
		name string
		rec  abi.Record
		want abi.Result
	}{
		{"matching record gets a tag", abi.Record{ProcessName: "java"}, abi.Result{SetTags: []abi.Tag{{Key: "acme.io/lang", Value: "java"}}}},
		{"other record is unchanged", abi.Record{ProcessName: "nginx"}, abi.Result{}},
	}
	s := newState(tagJava)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := s.process(abi.AppendRecord(nil, &tt.rec, abi.FieldsAll))
			if code != 0 {
				t.Fatalf("code = %d", code)
			}
			var got abi.Result
			if err := abi.DecodeResult(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.SetTags, tt.want.SetTags) || got.Empty() != tt.want.Empty() {
				t.Errorf("result = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProcessResultDoesNotLeakBetweenCalls(t *testing.T) {
	s := newState(tagJava)
	java := abi.Record{ProcessName: "java"}
	other := abi.Record{ProcessName: "sh"}
	if out, _ := s.process(abi.AppendRecord(nil, &java, abi.FieldsAll)); len(out) == 0 {
		t.Fatal("java record unchanged")
	}
	if out, _ := s.process(abi.AppendRecord(nil, &other, abi.FieldsAll)); len(out) != 0 {
		t.Errorf("second record got % x, want unchanged", out)
	}
}

func TestProcessBadInput(t *testing.T) {
	logs := captureLog(t)
	s := newState(tagJava)
	if _, code := s.process([]byte{0x04, 0x09, 'x'}); code != abi.CodeBadInput {
		t.Errorf("code = %d, want %d", code, abi.CodeBadInput)
	}
	if _, code := s.processBatch([]byte{0x01, 0x09}); code != abi.CodeBadInput {
		t.Errorf("batch code = %d, want %d", code, abi.CodeBadInput)
	}
	if got := logs.String(); strings.Count(got, "error: ") != 2 || !strings.Contains(got, "truncated") {
		t.Errorf("log = %q, want two errors naming the truncation", got)
	}
}

func TestProcessBatch(t *testing.T) {
	s := newState(tagJava)
	recs := []abi.Record{{ProcessName: "sh"}, {ProcessName: "java"}, {ProcessName: "nginx"}, {ProcessName: "java"}}
	out, code := s.processBatch(abi.AppendBatch(nil, recs, abi.FieldsAll))
	if code != 0 {
		t.Fatalf("code = %d", code)
	}
	var idx []int
	err := abi.DecodeBatchResult(out, func(ir abi.IndexedResult) error {
		idx = append(idx, ir.Index)
		if v := ir.Result.SetTags; len(v) != 1 || v[0].Value != "java" {
			t.Errorf("entry %d tags = %v", ir.Index, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(idx, []int{1, 3}) {
		t.Errorf("changed indexes = %v, want [1 3]", idx)
	}
}

func TestProcessBatchNothingChanged(t *testing.T) {
	s := newState(tagJava)
	out, code := s.processBatch(abi.AppendBatch(nil, []abi.Record{{ProcessName: "sh"}}, abi.FieldsAll))
	if code != 0 || len(out) != 0 {
		t.Errorf("processBatch = % x, %d; want empty, 0", out, code)
	}
}

func TestInitialise(t *testing.T) {
	tests := []struct {
		name    string
		handler HandlerFunc
		init    InitFunc
		want    int32
		wantLog string
	}{
		{"no init function", tagJava, nil, 0, ""},
		{"init accepts", tagJava, func([]byte) error { return nil }, 0, ""},
		{"init refuses", tagJava, func([]byte) error { return errors.New("team is missing") }, 1, "error: init: team is missing\n"},
		{"no handler", nil, nil, 1, "error: init: no handler registered; call sdk.Handle from an init function\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := captureLog(t)
			s := &state{handler: tt.handler, init: tt.init}
			if got := s.initialise([]byte("cfg")); got != tt.want {
				t.Errorf("initialise = %d, want %d", got, tt.want)
			}
			if logs.String() != tt.wantLog {
				t.Errorf("log = %q, want %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestInitialiseCopiesConfig(t *testing.T) {
	var kept []byte
	s := &state{handler: tagJava, init: func(c []byte) error { kept = c; return nil }}
	cfg := []byte("team")
	s.initialise(cfg)
	cfg[0] = 'X'
	if string(kept) != "team" {
		t.Errorf("config kept = %q after the input buffer changed, want team", kept)
	}
}

func TestAlloc(t *testing.T) {
	s := newState(tagJava)
	tests := []struct {
		name string
		size int32
		want int
		ok   bool
	}{
		{"zero still gives a buffer", 0, 1, true},
		{"grows", 4096, 4096, true},
		{"reuses a larger buffer", 10, 10, true},
		{"negative", -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := s.alloc(tt.size)
			if ok != tt.ok || len(b) != tt.want {
				t.Errorf("alloc(%d) = %d bytes, %v; want %d, %v", tt.size, len(b), ok, tt.want, tt.ok)
			}
		})
	}
	if cap(s.in) != 4096 {
		t.Errorf("buffer capacity %d, want the 4096 kept", cap(s.in))
	}
}

func TestProcessAccessors(t *testing.T) {
	p := &Process{Record: abi.Record{
		Tags:    []abi.Tag{{Key: "team", Value: "pay"}, {Key: "empty"}},
		Env:     []string{"PATHX=1", "PATH=/bin", "EMPTY=", "NOEQUALS"},
		Present: abi.FieldTags | abi.FieldEnv,
	}}
	tests := []struct {
		name      string
		got       func() (string, bool)
		want      string
		wantFound bool
	}{
		{"tag", func() (string, bool) { return p.Tag("team") }, "pay", true},
		{"empty tag value", func() (string, bool) { return p.Tag("empty") }, "", true},
		{"missing tag", func() (string, bool) { return p.Tag("nope") }, "", false},
		{"env is not confused by a longer name", func() (string, bool) { return p.Getenv("PATH") }, "/bin", true},
		{"empty env value", func() (string, bool) { return p.Getenv("EMPTY") }, "", true},
		{"env entry without =", func() (string, bool) { return p.Getenv("NOEQUALS") }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := tt.got()
			if v != tt.want || ok != tt.wantFound {
				t.Errorf("got %q, %v; want %q, %v", v, ok, tt.want, tt.wantFound)
			}
		})
	}
	if !p.Has(abi.FieldTags) || p.Has(abi.FieldPID) {
		t.Errorf("Has: tags %v, pid %v; want true, false", p.Has(abi.FieldTags), p.Has(abi.FieldPID))
	}
}

func TestResultBuilder(t *testing.T) {
	var r Result
	if r.Changed() {
		t.Fatal("zero Result is changed")
	}
	r.SetTag("a", "1")
	r.SetTag("b", "2")
	r.SetTag("a", "3")
	r.RemoveTag("c")
	r.Rename("x")
	r.Rename("y")
	r.Drop()
	name, renamed := r.Renamed()
	if name != "y" || !renamed {
		t.Errorf("Renamed() = %q, %v; want y, true", name, renamed)
	}
	if want := []abi.Tag{{Key: "a", Value: "3"}, {Key: "b", Value: "2"}}; !reflect.DeepEqual(r.Tags(), want) {
		t.Errorf("Tags() = %v, want %v", r.Tags(), want)
	}
	if !reflect.DeepEqual(r.RemovedTags(), []string{"c"}) || !r.Dropped() || !r.Changed() {
		t.Errorf("RemovedTags() = %v, Dropped() = %v, Changed() = %v", r.RemovedTags(), r.Dropped(), r.Changed())
	}
	r.Reset()
	if r.Changed() {
		t.Error("Reset Result is still changed")
	}
}
