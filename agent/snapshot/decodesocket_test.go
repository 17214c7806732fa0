package snapshot

import (
	"encoding/json"
	"reflect"
	"testing"
)

// socketInputs are socket objects of the fast form and of every way out of
// it, for the table test and as fuzz seeds.
var socketInputs = []string{
	`{"proto":"tcp","local_ip":"10.0.0.5","local_port":8080,"remote_ip":"0.0.0.0","remote_port":0,"state":"LISTEN","role":"server","inode":31337,"pids":[812],"netns_id":4026531840}`,
	"{\n  \"proto\": \"tcp6\",\n  \"local_ip\": \"::1\",\n  \"pids\": [1, 2, 3]\n}",
	`{}`,
	`{"proto":"udp","proto":"tcp"}`,
	`{"Proto":"udp"}`,
	`{"proto":"t\u0063p"}`,
	`{"proto":"tcp","extra":{"a":[1,2]}}`,
	`{"pids":null}`,
	`{"pids":[]}`,
	`{"local_port":65536}`,
	`{"local_port":-1}`,
	`{"local_port":1e2}`,
	`{"local_port":080}`,
	`{"inode":18446744073709551615}`,
	`{"inode":18446744073709551616}`,
	`{"role":null}`,
	`{"proto":"tcp",}`,
	`{"proto":"tcp"} x`,
	`{"state":"ÉTABLI"}`,
	`[1]`,
	`"tcp"`,
}

// TestSocketUnmarshal checks that Socket.UnmarshalJSON gives what
// encoding/json gives for every input, the error included, decoding over a
// socket that already has values (encoding/json keeps the fields absent).
func TestSocketUnmarshal(t *testing.T) {
	for _, in := range socketInputs {
		checkSocketDecode(t, []byte(in))
	}
}

func checkSocketDecode(t *testing.T, in []byte) {
	t.Helper()
	base := Socket{Proto: "udp", LocalPort: 7, PIDs: []int{9}, Inode: 3}
	got, want := base, plainSocket(base)
	gotErr := json.Unmarshal(in, &got)
	wantErr := json.Unmarshal(in, &want)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%q: error %v, encoding/json's %v", in, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, Socket(want)) {
		t.Fatalf("%q: decoded %+v, encoding/json %+v", in, got, Socket(want))
	}
}

// FuzzSocketUnmarshal holds Socket.UnmarshalJSON to encoding/json's result
// on any input.
func FuzzSocketUnmarshal(f *testing.F) {
	for _, in := range socketInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSocketDecode(t, in) })
}
