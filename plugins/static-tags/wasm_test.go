package main

import (
	"context"
	"reflect"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// TestWasm builds the plugin to wasm and runs it under wazero on sample
// records, with the grant of its manifest, one by one and as a batch.
func TestWasm(t *testing.T) {
	p, err := sdktest.Load(t.Context(), sdktest.Build(t, "."), []byte(exampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	grant := abi.FieldName | abi.FieldProcessName | abi.FieldCmdline
	recs := []abi.Record{
		{Name: "sshd", ProcessName: "sshd"},
		{Name: "frontend", ProcessName: "nginx"},
	}
	want := []abi.Tag{{Key: "acme.io/team", Value: "edge"}}
	res, err := p.Process(t.Context(), &recs[1], grant)
	if err != nil || !reflect.DeepEqual(res.SetTags, want) {
		t.Errorf("Process = %+v, %v; want tags %v", res, err, want)
	}
	batch, err := p.ProcessBatch(t.Context(), recs, grant)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 1 || batch[0].Index != 1 || !reflect.DeepEqual(batch[0].Result.SetTags, want) {
		t.Errorf("batch = %+v, want one entry for record 1", batch)
	}
}

func TestWasmBadConfigFailsInit(t *testing.T) {
	p, err := sdktest.Load(t.Context(), sdktest.Build(t, "."), []byte(`[{"match": "("}]`))
	if p != nil {
		defer p.Close(context.Background())
	}
	if err == nil {
		t.Fatal("init accepted a bad regexp")
	}
	if logs := p.Logs(); len(logs) != 1 || logs[0].Level != abi.LevelError {
		t.Errorf("logs = %+v, want one error saying why", logs)
	}
}
