package explain

import (
	"errors"
	"reflect"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/agent/internal/wasmhost"
)

func TestFromEffect(t *testing.T) {
	tests := []struct {
		name string
		in   wasmhost.Effect
		want Effect
	}{
		{
			name: "the operator's plugin, called",
			in: wasmhost.Effect{Plugin: "namer", Called: true, Result: abi.Result{
				Rename: "billing", HasRename: true, SetTags: []abi.Tag{{Key: "a", Value: "b"}}, RemoveTags: []string{"c"}, Drop: true}},
			want: Effect{Plugin: "namer", Called: true, Rename: "billing", HasRename: true,
				SetTags: []Tag{{Key: "a", Value: "b"}}, RemoveTags: []string{"c"}, Drop: true},
		},
		{
			name: "a tenant's plugin is split into tenant and name",
			in:   wasmhost.Effect{Plugin: "payments/tagger", Skipped: "out of scope"},
			want: Effect{Plugin: "tagger", Tenant: "payments", Skipped: "out of scope"},
		},
		{
			name: "an error becomes its text",
			in:   wasmhost.Effect{Plugin: "crashy", Called: true, Err: errors.New("trap")},
			want: Effect{Plugin: "crashy", Called: true, Error: "trap"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromEffect(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromEffect = %+v, want %+v", got, tc.want)
			}
		})
	}
}
