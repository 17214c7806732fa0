// Package wathello_test builds the hand-written WebAssembly plugin with
// wat2wasm and runs it under wazero through the same ABI checks as a Go
// plugin.
package wathello_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// build compiles wat-hello.wat with wat2wasm (Debian package wabt, which
// `make deps` installs).
func build(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Fatal("wat2wasm is not installed: run `make deps` or `apt-get install -y wabt`")
	}
	out := filepath.Join(t.TempDir(), "wat-hello.wasm")
	if b, err := exec.Command("wat2wasm", "wat-hello.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func TestWasm(t *testing.T) {
	p, err := sdktest.Load(t.Context(), build(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if want := []sdktest.LogLine{{Level: abi.LevelInfo, Msg: "wat-hello is ready."}}; !reflect.DeepEqual(p.Logs(), want) {
		t.Errorf("init logs = %+v, want %+v", p.Logs(), want)
	}
	if p.HasBatch() {
		t.Error("wat-hello exports a batch function it does not have")
	}
	want := []abi.Tag{{Key: "wat/hello", Value: "world"}}
	big := abi.Record{PID: 1, Cmdline: string(make([]byte, 200_000))} // input larger than one page: alloc must grow memory
	for _, rec := range []abi.Record{{PID: 1, Name: "sshd"}, {}, big} {
		res, err := p.Process(t.Context(), &rec, abi.FieldsDefault)
		if err != nil {
			t.Fatalf("Process(pid %d): %v", rec.PID, err)
		}
		if !reflect.DeepEqual(res.SetTags, want) || res.HasRename || res.Drop || len(res.RemoveTags) > 0 {
			t.Errorf("result = %+v, want the tag %v only", res, want)
		}
	}
}
