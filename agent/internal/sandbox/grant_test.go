package sandbox

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/proctag/proctag/abi"
)

func TestGrantCheck(t *testing.T) {
	all := grant{rename: true, tag: true, drop: true, prefix: "app."}
	tagOnly := grant{tag: true, prefix: "app."}
	tests := []struct {
		name string
		g    grant
		r    abi.Result
		want string // "" = accepted
	}{
		{"empty result", tagOnly, abi.Result{}, ""},
		{"tag within the prefix", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.team", Value: "payments"}}}, ""},
		{"nested key with slash and dash", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k8s/pod-uid", Value: "x"}}}, ""},
		{"remove within the prefix", tagOnly, abi.Result{RemoveTags: []string{"app.old"}}, ""},
		{"empty value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: ""}}}, ""},
		{"unicode value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "zürich ✓"}}}, ""},
		{"all granted", all, abi.Result{Rename: "svc", HasRename: true, Drop: true}, ""},
		{"key outside the prefix", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "team", Value: "x"}}}, `tag key "team" is outside the granted prefix "app."`},
		{"key equal to the prefix", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.", Value: "x"}}}, `tag key "app." is outside the granted prefix "app."`},
		{"colon in key", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.a:b", Value: "x"}}}, "no ':', which DeepFlow drops"},
		{"space in key", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.a b", Value: "x"}}}, "use letters, digits"},
		{"non-ascii key", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.é", Value: "x"}}}, "use letters, digits"},
		{"long key", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app." + strings.Repeat("k", 200), Value: "x"}}}, "tag key of 204 bytes, the limit is 128"},
		{"long value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: strings.Repeat("v", 1025)}}}, "tag app.k value of 1025 bytes, the limit is 1024"},
		{"invalid utf-8 value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "\xff"}}}, "tag app.k value is not valid UTF-8"},
		{"control character in value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "a\x00b"}}}, "control character U+0000"},
		{"C1 control character in value", tagOnly, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "\u009b2J"}}}, "control character U+009B"},
		{"C1 next line in a rename", all, abi.Result{Rename: "a\u0085b", HasRename: true}, "name has control character U+0085"},
		{"remove outside the prefix", tagOnly, abi.Result{RemoveTags: []string{"team"}}, `remove: tag key "team" is outside`},
		{"too many tags", tagOnly, abi.Result{SetTags: make([]abi.Tag, 65)}, "more than 64 tags"},
		{"rename not granted", tagOnly, abi.Result{Rename: "x", HasRename: true}, "rename is not granted"},
		{"drop not granted", tagOnly, abi.Result{Drop: true}, "drop is not granted"},
		{"tag not granted", grant{rename: true}, abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "v"}}}, "tag is not granted"},
		{"rename to empty", all, abi.Result{HasRename: true}, "rename to an empty name"},
		{"rename with newline", all, abi.Result{Rename: "a\nb", HasRename: true}, "name has control character U+000A"},
		{"rename too long", all, abi.Result{Rename: strings.Repeat("n", 300), HasRename: true}, "name of 300 bytes, the limit is 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.g.check(&tt.r)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("check = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewGrant(t *testing.T) {
	tests := []struct {
		name    string
		p       Spec
		wantErr string
		check   func(grant) bool
	}{
		{"default capability is tag", Spec{TagPrefix: "x."}, "", func(g grant) bool { return g.tag && !g.rename && !g.drop }},
		{"default fields exclude env", Spec{TagPrefix: "x."}, "", func(g grant) bool { return g.fields == abi.FieldsDefault }},
		{"cmdline grants argv", Spec{TagPrefix: "x.", Fields: []string{"cmdline"}}, "", func(g grant) bool { return g.fields == abi.FieldCmdline|abi.FieldArgv }},
		{"an empty field list grants none, not the defaults", Spec{TagPrefix: "x.", Fields: []string{}}, "", func(g grant) bool { return g.fields == 0 }},
		{"an empty capability list grants nothing, not tag", Spec{Capabilities: []string{}, TagPrefix: "x."}, "none granted", nil},
		{"rename only needs no prefix", Spec{Capabilities: []string{"rename"}}, "", func(g grant) bool { return g.rename && !g.tag }},
		{"tag needs a prefix", Spec{}, "tag-prefix is required", nil},
		{"bad prefix", Spec{TagPrefix: "a:b"}, "tag-prefix \"a:b\"", nil},
		{"unknown capability", Spec{Capabilities: []string{"exec"}, TagPrefix: "x."}, `capability "exec"`, nil},
		{"bad regex", Spec{TagPrefix: "x.", Scope: Scope{MatchRegex: "("}}, "scope.match-regex", nil},
		{"bad match type", Spec{TagPrefix: "x.", Scope: Scope{MatchRegex: "a", MatchType: "tag"}}, "scope.match-type", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := newGrant(tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("newGrant = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(g) {
				t.Errorf("newGrant = %+v, %v", g, err)
			}
		})
	}
}

// FuzzGrantCheck decodes arbitrary guest output and checks that whatever
// the grant accepts is safe to publish.
func FuzzGrantCheck(f *testing.F) {
	f.Add(abi.AppendResult(nil, &abi.Result{SetTags: []abi.Tag{{Key: "app.k", Value: "v"}}}))   // a valid tag
	f.Add(abi.AppendResult(nil, &abi.Result{SetTags: []abi.Tag{{Key: "app.a:b", Value: "v"}}})) // a colon key
	f.Add(abi.AppendResult(nil, &abi.Result{Rename: "n", HasRename: true, Drop: true}))         // rename and drop
	f.Add(abi.AppendResult(nil, &abi.Result{RemoveTags: []string{"other"}}))                    // removal outside the prefix
	f.Add([]byte{0x02, 0x05, 0x0a, 0x03, 'a', 'p', 'p'})                                        // a truncated nested tag
	f.Add([]byte{})                                                                             // unchanged
	f.Fuzz(func(t *testing.T, out []byte) {
		var r abi.Result
		if abi.DecodeResult(out, &r) != nil {
			return
		}
		g := grant{tag: true, rename: true, prefix: "app."}
		if g.check(&r) != "" {
			return
		}
		if r.Drop {
			t.Fatal("accepted a drop without the capability")
		}
		for _, tag := range r.SetTags {
			if !strings.HasPrefix(tag.Key, "app.") || strings.ContainsAny(tag.Key, ": \t\n") || len(tag.Key) > maxKeyBytes || !utf8.ValidString(tag.Value) {
				t.Fatalf("accepted tag %q=%q", tag.Key, tag.Value)
			}
		}
		if r.HasRename && (r.Rename == "" || !utf8.ValidString(r.Rename)) {
			t.Fatalf("accepted rename %q", r.Rename)
		}
	})
}
