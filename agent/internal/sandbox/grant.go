package sandbox

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/proctag/proctag/abi"
)

// Limits on what a plugin may output, checked on every result. Tag keys
// follow DeepFlow's server: [A-Za-z0-9_.-/], never ':'.
const (
	maxKeyBytes    = 128
	maxValueBytes  = 1024
	maxNameBytes   = 256
	maxTagsPerCall = 64
)

// grant is what the operator allows one plugin: its capabilities, tag key
// prefix, readable fields and scope. It is immutable after newGrant.
type grant struct {
	rename, tag, drop bool
	prefix            string
	fields            abi.Fields
	uids              []int
	re                *regexp.Regexp
	onCmdline         bool
}

// newGrant turns a Spec into the grant the sandbox enforces. The field
// "cmdline" grants both cmdline and argv, which carry the same data.
func newGrant(p Spec) (grant, error) {
	g := grant{prefix: p.TagPrefix, uids: slices.Clone(p.Scope.UIDs)}
	caps := p.Capabilities
	switch {
	case caps == nil:
		caps = []string{"tag"}
	case len(caps) == 0:
		// An explicit empty list, such as a tenant's ceiling of none,
		// grants nothing: never the default.
		return g, fmt.Errorf("capabilities: none granted, the plugin could do nothing")
	}
	for _, c := range caps {
		switch c {
		case "rename":
			g.rename = true
		case "tag":
			g.tag = true
		case "drop":
			g.drop = true
		default:
			return g, fmt.Errorf("capability %q is not rename, tag or drop", c)
		}
	}
	if g.tag && g.prefix == "" {
		return g, fmt.Errorf("tag-prefix is required with the tag capability")
	}
	if g.prefix != "" && !validKey(g.prefix) {
		return g, fmt.Errorf("tag-prefix %q: use letters, digits, _ . - / only", g.prefix)
	}
	if p.Fields == nil {
		g.fields = abi.FieldsDefault
	} else { // an explicit empty list grants no field
		f, err := abi.FieldsFromNames(p.Fields)
		if err != nil {
			return g, fmt.Errorf("fields: %w", err)
		}
		if f.Has(abi.FieldCmdline) {
			f |= abi.FieldArgv
		}
		g.fields = f
	}
	if p.Scope.MatchRegex != "" {
		re, err := regexp.Compile(p.Scope.MatchRegex)
		if err != nil {
			return g, fmt.Errorf("scope.match-regex: %w", err)
		}
		g.re = re
		switch p.Scope.MatchType {
		case "", "process_name":
		case "cmdline":
			g.onCmdline = true
		default:
			return g, fmt.Errorf("scope.match-type %q is not process_name or cmdline", p.Scope.MatchType)
		}
	}
	return g, nil
}

// inScope reports whether the plugin may see the process at all.
func (g *grant) inScope(r *abi.Record) bool {
	if len(g.uids) > 0 && !slices.Contains(g.uids, r.UID) {
		return false
	}
	if g.re == nil {
		return true
	}
	if g.onCmdline {
		return g.re.MatchString(r.Cmdline)
	}
	return g.re.MatchString(r.ProcessName)
}

// check rejects a result that does anything outside the grant, or carries
// an invalid name, key or value. The first problem found is reported.
func (g *grant) check(r *abi.Result) string {
	if r.Drop && !g.drop {
		return "drop is not granted"
	}
	if r.HasRename {
		if !g.rename {
			return "rename is not granted"
		}
		if msg := checkText(r.Rename, maxNameBytes, "name"); msg != "" {
			return msg
		}
		if r.Rename == "" {
			return "rename to an empty name"
		}
	}
	if (len(r.SetTags) > 0 || len(r.RemoveTags) > 0) && !g.tag {
		return "tag is not granted"
	}
	if len(r.SetTags) > maxTagsPerCall || len(r.RemoveTags) > maxTagsPerCall {
		return fmt.Sprintf("more than %d tags in one result", maxTagsPerCall)
	}
	for _, t := range r.SetTags {
		if msg := g.checkKey(t.Key); msg != "" {
			return msg
		}
		if msg := checkText(t.Value, maxValueBytes, "tag ", t.Key, " value"); msg != "" {
			return msg
		}
	}
	for _, k := range r.RemoveTags {
		if msg := g.checkKey(k); msg != "" {
			return "remove: " + msg
		}
	}
	return ""
}

func (g *grant) checkKey(k string) string {
	switch {
	case len(k) > maxKeyBytes:
		return fmt.Sprintf("tag key of %d bytes, the limit is %d", len(k), maxKeyBytes)
	case !validKey(k):
		return fmt.Sprintf("tag key %q: use letters, digits, _ . - / only (no ':', which DeepFlow drops)", k)
	case !strings.HasPrefix(k, g.prefix) || len(k) == len(g.prefix):
		return fmt.Sprintf("tag key %q is outside the granted prefix %q", k, g.prefix)
	}
	return ""
}

// validKey reports whether k is a non-empty [A-Za-z0-9_.-/]+.
func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == '/':
		default:
			return false
		}
	}
	return k != ""
}

// checkText validates a name or tag value: valid UTF-8, no control
// characters, at most limit bytes. The message names the text by the
// parts of what, joined only when there is something wrong.
func checkText(s string, limit int, what ...string) string {
	if len(s) > limit {
		return fmt.Sprintf("%s of %d bytes, the limit is %d", strings.Join(what, ""), len(s), limit)
	}
	if !utf8.ValidString(s) {
		return strings.Join(what, "") + " is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) { // C0, DEL and C1 (U+0080 to U+009F)
			return fmt.Sprintf("%s has control character %U", strings.Join(what, ""), r)
		}
	}
	return ""
}
