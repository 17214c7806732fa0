package main

import (
	"context"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk/sdktest"
)

// TestWasm builds the plugin to wasm and runs it under wazero on sample
// records, with the grant of its manifest, one by one and as a batch.
func TestWasm(t *testing.T) {
	p, err := sdktest.Load(t.Context(), sdktest.Build(t, "."), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	grant := abi.FieldProcessName | abi.FieldName | abi.FieldArgv | abi.FieldCmdline
	recs := []abi.Record{
		{Name: "java", ProcessName: "java", Argv: []string{"java", "-jar", "/srv/billing.jar"}},
		{Name: "nginx", ProcessName: "nginx", Argv: []string{"nginx", "-g", "daemon off;"}},
		{Name: "python3", ProcessName: "python3", Argv: []string{"python3", "/srv/app/worker.py"}},
		{Name: "node", ProcessName: "node", Argv: []string{"node", "server.js"}},
	}
	want := map[int]string{0: "billing", 2: "worker", 3: "server"}
	for i := range recs {
		res, err := p.Process(t.Context(), &recs[i], grant)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if res.Rename != want[i] || res.HasRename != (want[i] != "") {
			t.Errorf("record %d (%v): result %+v, want rename %q", i, recs[i].Argv, res, want[i])
		}
	}
	batch, err := p.ProcessBatch(t.Context(), recs, grant)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != len(want) {
		t.Fatalf("batch has %d entries, want %d: %+v", len(batch), len(want), batch)
	}
	for _, e := range batch {
		if e.Result.Rename != want[e.Index] {
			t.Errorf("batch entry %d renamed to %q, want %q", e.Index, e.Result.Rename, want[e.Index])
		}
	}
}
