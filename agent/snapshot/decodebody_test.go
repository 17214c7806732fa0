package snapshot

import (
	"encoding/json"
	"reflect"
	"testing"
)

// bodySeeds are snapshot and delta bodies as agents write them, compact and
// indented, and bodies that leave the fast path.
func bodySeeds(t testing.TB) [][]byte {
	prev := synth(4, 30, 1) // small: the fuzzer minimizes what it finds
	next := churn(prev, 1, 2)
	next.Sockets[0].PIDs = []int{7, 8}
	next.Sort()
	var seeds [][]byte
	for _, v := range []any{next, Diff(prev, next)} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		ind, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b, ind)
	}
	return append(seeds,
		[]byte(`{"sockets":null,"host":{"host_id":"h"}}`),
		[]byte(`{"Sockets":[{"proto":"tcp"}],"sockets":[{"inode":1}]}`),
		[]byte(`{"sockets":[{"inode":1}],"sockets":[{"inode":2}]}`),
		[]byte(`{"sockets":[{"inode":1},{"inode":"x"}]}`),
		[]byte(`{"host":{"host_id":"h\u00e9"},"sockets":[]}`),
		[]byte(`{"host": tru, "sockets":[]}`),
		[]byte(`{"sockets_added":[{"pids":[1]}],"sockets_changed":[{"role":"client"}],"removed":[{"pid":1,"start_time":2}]}`),
		[]byte(`{"extra":[[[{"a":"]}"}]]],"sockets":[{"proto":"udp"}]}`),
		[]byte(`{"sockets":[{"proto":"tcp"}]} trailing`),
		[]byte(`{"processes":[{"pid":1,"matched_rule":-1,"cmdline":"a \"b\"","tags":{"k":"v"},"tags":{"j":"w"}},null,{"pid":2,"name":"caf\u00e9","user":"r\u00f6ot"}]}`),
		[]byte(`{"processes":[{"pid":- 1}]}`),
		[]byte(`{"processes":[{"pid":-0,"ppid":-9223372036854775808,"exited":9223372036854775807,"tags":{}}]}`),
		[]byte(`{"processes":[{"pid":1.5}]}`),
		[]byte(`{"processes":[{"PID":3,"Name":"x"}],"Processes":[]}`),
		[]byte(`{"added":[{"pid":1,"start_time":2,"tags":null}],"changed":[{"pid":1,"extra":true}],"sockets_added":[]}`),
		[]byte(`{"processes":null}`),
		[]byte(`{"sockets":[{"inode":1,"proto":"tcp"}],"sockets":[{"inode":2}]}`),
		[]byte(`{"added":[{"pid":1,"start_time":1}],"added":[{}]}`),
	)
}

// TestDecodeStateJSON checks decodeJSON against json.Unmarshal on snapshot
// and delta bodies: the same value, or an error where it errs.
func TestDecodeStateJSON(t *testing.T) {
	for _, b := range bodySeeds(t) {
		checkStateDecode(t, b)
	}
}

func checkStateDecode(t *testing.T, b []byte) {
	t.Helper()
	var gotS, wantS Snapshot
	gotErr, wantErr := decodeJSON(b, KindSnapshot, &gotS), json.Unmarshal(b, &wantS)
	if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !reflect.DeepEqual(gotS, wantS) {
		t.Fatalf("snapshot %q: %+v, %v; encoding/json %+v, %v", b, gotS, gotErr, wantS, wantErr)
	}
	var gotD, wantD Delta
	gotErr, wantErr = decodeJSON(b, KindDelta, &gotD), json.Unmarshal(b, &wantD)
	if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !reflect.DeepEqual(gotD, wantD) {
		t.Fatalf("delta %q: %+v, %v; encoding/json %+v, %v", b, gotD, gotErr, wantD, wantErr)
	}
}

// FuzzDecodeStateJSON holds decodeJSON's snapshot and delta decoding to
// json.Unmarshal's on any input.
func FuzzDecodeStateJSON(f *testing.F) {
	for _, b := range bodySeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkStateDecode)
}
