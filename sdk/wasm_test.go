package sdk_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// modules caches the test guests, built once per test binary.
var modules struct {
	sync.Mutex
	dir  string
	wasm map[string][]byte
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdk-wasm-test")
	if err != nil {
		panic(err)
	}
	modules.dir, modules.wasm = dir, map[string][]byte{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// module returns the wasm of the guest in dir, building it on first use.
func module(t testing.TB, dir string) []byte {
	t.Helper()
	modules.Lock()
	defer modules.Unlock()
	if w, ok := modules.wasm[dir]; ok {
		return w
	}
	out, err := os.MkdirTemp(modules.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := sdktest.BuildTo(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	modules.wasm[dir] = w
	return w
}

// load starts the guest in dir with config and closes it with the test.
func load(t testing.TB, dir, config string) *sdktest.Plugin {
	t.Helper()
	p, err := sdktest.Load(context.Background(), module(t, dir), []byte(config))
	if p != nil {
		t.Cleanup(func() { p.Close(context.Background()) })
	}
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return p
}

func TestWasmTemplate(t *testing.T) {
	p := load(t, "template", "payments")
	tests := []struct {
		name string
		rec  abi.Record
		want []abi.Tag
	}{
		{"java", abi.Record{PID: 1, ProcessName: "java"}, []abi.Tag{{Key: "example.com/lang", Value: "java"}, {Key: "example.com/team", Value: "payments"}}},
		{"python3.12", abi.Record{PID: 2, ProcessName: "python3.12"}, []abi.Tag{{Key: "example.com/lang", Value: "python"}, {Key: "example.com/team", Value: "payments"}}},
		{"unknown runtime gets the team only", abi.Record{PID: 3, ProcessName: "nginx"}, []abi.Tag{{Key: "example.com/team", Value: "payments"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Process(t.Context(), &tt.rec, abi.FieldPID|abi.FieldProcessName)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.SetTags, tt.want) || res.HasRename || res.Drop {
				t.Errorf("result = %+v, want tags %v only", res, tt.want)
			}
		})
	}
}

func TestWasmBatchMatchesSingleCalls(t *testing.T) {
	p := load(t, "testdata/probe", "")
	recs := []abi.Record{
		{Name: "quiet"},
		{Name: "echo", ProcessName: "java", Tags: []abi.Tag{{Key: "team", Value: "pay"}}, Env: []string{"PROBE=1"}},
		{Name: "drop"},
		{Name: "quiet"},
	}
	if !p.HasBatch() {
		t.Fatal("the SDK did not export proctag_process_batch")
	}
	batch, err := p.ProcessBatch(t.Context(), recs, abi.FieldsAll)
	if err != nil {
		t.Fatal(err)
	}
	var single []abi.IndexedResult
	for i := range recs {
		res, err := p.Process(t.Context(), &recs[i], abi.FieldsAll)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Empty() {
			single = append(single, abi.IndexedResult{Index: i, Result: res})
		}
	}
	if !reflect.DeepEqual(batch, single) {
		t.Errorf("batch = %+v\nsingle calls = %+v", batch, single)
	}
	want := abi.Result{Rename: "java", HasRename: true, SetTags: []abi.Tag{{Key: "probe/team", Value: "pay"}, {Key: "probe/env", Value: "1"}}, RemoveTags: []string{"probe/old"}}
	if len(batch) != 2 || batch[0].Index != 1 || !reflect.DeepEqual(batch[0].Result, want) || batch[1].Index != 2 || !batch[1].Result.Drop {
		t.Errorf("batch = %+v, want entries 1 (echo) and 2 (drop)", batch)
	}
}

func TestWasmEnvOnlyWhenGranted(t *testing.T) {
	p := load(t, "testdata/probe", "")
	rec := abi.Record{Name: "echo", Env: []string{"PROBE=secret"}}
	res, err := p.Process(t.Context(), &rec, abi.FieldsDefault)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range res.SetTags {
		if tag.Key == "probe/env" {
			t.Errorf("guest saw env without the grant: %v", tag)
		}
	}
}

func TestWasmLog(t *testing.T) {
	p := load(t, "testdata/probe", "configured greeting")
	if _, err := p.Process(t.Context(), &abi.Record{Name: "log"}, abi.FieldName); err != nil {
		t.Fatal(err)
	}
	want := []sdktest.LogLine{{Level: abi.LevelWarn, Msg: "configured greeting"}}
	if got := p.Logs(); !reflect.DeepEqual(got, want) {
		t.Errorf("logs = %+v, want %+v", got, want)
	}
}

func TestWasmInitFailures(t *testing.T) {
	tests := []struct {
		name, dir, config, wantLog string
	}{
		{"config refused", "testdata/probe", "fail", "init: config says fail"},
		{"no handler registered", "testdata/nohandler", "", "init: no handler registered; call sdk.Handle from an init function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := sdktest.Load(t.Context(), module(t, tt.dir), []byte(tt.config))
			if err == nil || p == nil {
				t.Fatalf("Load = %v, %v; want an init error", p, err)
			}
			defer p.Close(context.Background())
			want := []sdktest.LogLine{{Level: abi.LevelError, Msg: tt.wantLog}}
			if got := p.Logs(); !reflect.DeepEqual(got, want) {
				t.Errorf("logs = %+v, want %+v", got, want)
			}
		})
	}
}

func TestWasmBadInputCode(t *testing.T) {
	p := load(t, "testdata/probe", "")
	_, err := p.CallProcess(t.Context(), []byte{0x04, 0x7f})
	if ce, ok := errors.AsType[*sdktest.CodeError](err); !ok || ce.Code != abi.CodeBadInput {
		t.Errorf("CallProcess(truncated) error = %v, want code -1", err)
	}
	// The instance keeps working after a bad input.
	if res, err := p.Process(t.Context(), &abi.Record{Name: "drop"}, abi.FieldName); err != nil || !res.Drop {
		t.Errorf("after bad input: %+v, %v; want drop", res, err)
	}
}

func TestWasmPanicTraps(t *testing.T) {
	p := load(t, "testdata/probe", "")
	_, err := p.Process(t.Context(), &abi.Record{Name: "panic"}, abi.FieldName)
	if err == nil || !strings.Contains(err.Error(), "wasm error: unreachable") {
		t.Fatalf("a panicking handler returned %v, want a trap (wasm error: unreachable)", err)
	}
	if !strings.Contains(p.Stderr.String(), "panic: probe was asked to panic") {
		t.Errorf("stderr = %q, want the panic message", p.Stderr.String())
	}
}
