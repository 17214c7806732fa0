package wasmhost

import (
	"errors"
	"slices"
	"testing"

	"github.com/proctag/proctag/abi"
)

// TestApplyOwnKeepsTenantsApart: results apply in plugin order (the
// operator's, then the tenants'), and no tenant's result changes what
// another tenant's plugin set.
func TestApplyOwnKeepsTenantsApart(t *testing.T) {
	rename := func(n string) abi.Result { return abi.Result{HasRename: true, Rename: n} }
	tag := func(k string) abi.Result { return abi.Result{SetTags: []abi.Tag{{Key: k, Value: "v"}}} }
	drop := abi.Result{Drop: true}
	type step struct {
		tenant  string
		result  abi.Result
		refused bool
	}
	tests := []struct {
		name     string
		steps    []step
		wantName string
		wantDrop bool
		wantTags []string
	}{
		{"operator then tenant rename", []step{{"", rename("ops"), false}, {"a", rename("a-name"), false}}, "a-name", false, nil},
		{"same tenant renames twice", []step{{"a", rename("one"), false}, {"a", rename("two"), false}}, "two", false, nil},
		{"another tenant's rename refused", []step{{"a", rename("a-name"), false}, {"b", rename("b-name"), true}}, "a-name", false, nil},
		{"tags of two tenants", []step{{"a", tag("a.k"), false}, {"b", tag("b.k"), false}}, "in", false, []string{"a.k", "b.k"}},
		{"rename after another tenant's tags", []step{{"a", tag("a.k"), false}, {"b", rename("b-name"), false}}, "b-name", false, []string{"a.k"}},
		{"drop after another tenant's tags refused", []step{{"a", tag("a.k"), false}, {"b", drop, true}}, "in", false, []string{"a.k"}},
		{"drop after another tenant's rename refused", []step{{"a", rename("a-name"), false}, {"b", drop, true}}, "a-name", false, nil},
		{"drop after own tags", []step{{"a", tag("a.k"), false}, {"a", drop, false}}, "in", true, []string{"a.k"}},
		{"drop after the operator's tags", []step{{"", tag("ops.k"), false}, {"a", drop, false}}, "in", true, []string{"ops.k"}},
		{"empty result marks nothing", []step{{"a", abi.Result{}, false}, {"b", drop, false}}, "in", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Output{Name: "in"}
			for i, s := range tt.steps {
				err := applyOwn(s.tenant, &o, &s.result)
				if refused := errors.Is(err, ErrOtherTenant); refused != s.refused || (err != nil && !refused) {
					t.Fatalf("step %d (tenant %q): err %v, want refused=%v", i, s.tenant, err, s.refused)
				}
			}
			var keys []string
			for _, tg := range o.Tags {
				keys = append(keys, tg.Key)
			}
			if o.Name != tt.wantName || o.Drop != tt.wantDrop || !slices.Equal(keys, tt.wantTags) {
				t.Fatalf("got name %q drop %v tags %v, want %q %v %v", o.Name, o.Drop, keys, tt.wantName, tt.wantDrop, tt.wantTags)
			}
		})
	}
}
