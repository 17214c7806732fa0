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
	p, err := sdktest.Load(t.Context(), sdktest.Build(t, "."), []byte("proctag.io/"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	grant := abi.FieldContainerID | abi.FieldCgroup
	recs := []abi.Record{
		{Cgroup: "0::/init.scope\n"},
		{Cgroup: "0::/system.slice/docker-" + id + ".scope\n", ContainerID: id},
	}
	want := []abi.Tag{{Key: "proctag.io/container.id", Value: id}, {Key: "proctag.io/container.runtime", Value: "docker"}}
	for i := range recs {
		res, err := p.Process(t.Context(), &recs[i], grant)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if i == 0 && !res.Empty() || i == 1 && !reflect.DeepEqual(res.SetTags, want) {
			t.Errorf("record %d: result %+v", i, res)
		}
	}
	batch, err := p.ProcessBatch(t.Context(), recs, grant)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 1 || batch[0].Index != 1 || !reflect.DeepEqual(batch[0].Result.SetTags, want) {
		t.Errorf("batch = %+v, want one entry for record 1", batch)
	}
}

func TestWasmRefusesEmptyConfig(t *testing.T) {
	p, err := sdktest.Load(t.Context(), sdktest.Build(t, "."), nil)
	if p != nil {
		defer p.Close(context.Background())
	}
	if err == nil {
		t.Fatal("init accepted an empty config")
	}
	if logs := p.Logs(); len(logs) != 1 || logs[0].Level != abi.LevelError {
		t.Errorf("logs = %+v, want one error saying why", logs)
	}
}
