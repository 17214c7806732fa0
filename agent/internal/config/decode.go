package config

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree and collects every problem with its line.
type decoder struct {
	file  string
	dir   string // directory relative paths are resolved against
	errs  []*Error
	warns []Warning
}

func (d *decoder) errorf(n *yaml.Node, key, format string, args ...any) {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// bad reports the usual "<value> is not <allowed>" error.
func (d *decoder) bad(n *yaml.Node, key, allowed string) {
	d.errorf(n, key, "%s is not %s", describe(n), allowed)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is YAML null, which proctag treats as absent.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a value for a message: the quoted scalar, or its kind.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		v := n.Value
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		return strconv.Quote(v)
	}
	return "a value of unknown kind"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (d *decoder) boolean(n *yaml.Node, key string, dst *bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.bad(n, key, "a boolean (true or false)")
		return
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		d.bad(n, key, "a boolean (true or false)")
		return
	}
	*dst = b
}

// str decodes a string; other scalars are refused so that a typo like
// `user: 1000` is noticed (quote it).
func (d *decoder) str(n *yaml.Node, key string, dst *string) bool {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.bad(n, key, "a string")
		return false
	}
	if n.ShortTag() != "!!str" {
		d.errorf(n, key, "%s is not a string (quote it to use it as one)", describe(n))
		return false
	}
	*dst = n.Value
	return true
}

// network decodes the network key: 1 to 128 letters, digits and . _ - : /.
func (d *decoder) network(n *yaml.Node, key string, dst *string) {
	var v string
	if !d.str(n, key, &v) {
		return
	}
	ok := len(v) <= 128
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/", r)) {
			ok = false
		}
	}
	if !ok {
		d.bad(n, key, "up to 128 letters, digits and . _ - : /")
		return
	}
	*dst = v
}

// path decodes a file path and resolves it against the config's directory.
func (d *decoder) path(n *yaml.Node, key string, dst *string) {
	var s string
	if d.str(n, key, &s) {
		if s != "" && !filepath.IsAbs(s) {
			s = filepath.Join(d.dir, s)
		}
		*dst = s
	}
}

func (d *decoder) integer(n *yaml.Node, key string) (int64, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.bad(n, key, "an integer")
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		d.errorf(n, key, "%s is out of range", describe(n))
		return 0, false
	}
	return i, true
}

// intRange decodes an integer in [lo, hi].
func (d *decoder) intRange(n *yaml.Node, key string, lo, hi int64, dst *int) {
	i, ok := d.integer(n, key)
	if !ok {
		return
	}
	if i < lo || i > hi {
		if hi == math.MaxInt32 {
			d.errorf(n, key, "%d is not an integer >= %d", i, lo)
		} else {
			d.errorf(n, key, "%d is not an integer from %d to %d", i, lo, hi)
		}
		return
	}
	*dst = int(i)
}

// seconds decodes DeepFlow's whole-seconds durations, at least lo seconds.
func (d *decoder) seconds(n *yaml.Node, key string, lo int64, dst *time.Duration) {
	i, ok := d.integer(n, key)
	if !ok {
		return
	}
	const hi = int64(math.MaxInt64 / time.Second)
	if i < lo || i > hi {
		d.errorf(n, key, "%d is not a whole number of seconds >= %d", i, lo)
		return
	}
	*dst = time.Duration(i) * time.Second
}

// duration decodes a Go duration string ("5s", "250ms") or whole seconds,
// in (0, hi] (hi 0 = no upper limit).
func (d *decoder) duration(n *yaml.Node, key string, hi time.Duration, dst *time.Duration) {
	n = resolve(n)
	allowed := `a duration like "5s" or "250ms", or whole seconds`
	var v time.Duration
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int":
		i, ok := d.integer(n, key)
		if !ok {
			return
		}
		if i > int64(math.MaxInt64/time.Second) || i < 0 {
			d.errorf(n, key, "%d seconds is out of range", i)
			return
		}
		v = time.Duration(i) * time.Second
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		var err error
		if v, err = time.ParseDuration(n.Value); err != nil {
			d.bad(n, key, allowed)
			return
		}
	default:
		d.bad(n, key, allowed)
		return
	}
	if v <= 0 {
		d.errorf(n, key, "%s is not a duration > 0", describe(n))
		return
	}
	if hi > 0 && v > hi {
		d.errorf(n, key, "%s is more than the limit of %s", describe(n), hi)
		return
	}
	*dst = v
}

// strList decodes a list of strings; ok is false after an error.
func (d *decoder) strList(n *yaml.Node, key string) (list []string, ok bool) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.bad(n, key, "a list of strings")
		return nil, false
	}
	ok = true
	list = make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		var s string
		if !d.str(item, fmt.Sprintf("%s[%d]", key, i), &s) {
			ok = false
			continue
		}
		list = append(list, s)
	}
	return list, ok
}

// oneOf decodes a string that must be one of allowed.
func (d *decoder) oneOf(n *yaml.Node, key string, allowed []string, dst *string) {
	var s string
	if !d.str(n, key, &s) {
		return
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return
		}
	}
	d.bad(n, key, orList(allowed))
}

// orList formats allowed values as "a, b or c".
func orList(allowed []string) string {
	if len(allowed) == 1 {
		return allowed[0]
	}
	return strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
}

// mapping decodes the pairs of a mapping node with the given fields,
// reporting keys given twice and unknown keys. Null values count as absent.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, "a mapping")
		return
	}
	d.fields(n, path, fields, false)
}

// ruleMapping decodes an os-proc-regex rule: a null value goes to the
// field's decoder, which takes its text as DeepFlow's serde_yaml does for a
// String. A key proctag does not know is an error at the top level, as
// everywhere outside static_config (a typo such as match-regx would
// otherwise leave an accept-all rule); under static_config, where a
// DeepFlow agent-group file may hold a newer DeepFlow's rule keys, it is
// ignored with a warning, as DeepFlow ignores it (OsProcRegexp has no
// deny_unknown_fields).
func (d *decoder) ruleMapping(n *yaml.Node, path string, fields []field) {
	d.fields(n, path, fields, true)
}

// fields decodes the keys of mapping n; deepflowRule selects ruleMapping's
// ways over the strict default (unknown keys are errors, null values
// absent).
func (d *decoder) fields(n *yaml.Node, path string, fields []field, deepflowRule bool) {
	lenient := deepflowRule && strings.HasPrefix(path, "static_config.")
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.keyName(k, path)
		if !ok {
			continue
		}
		key := join(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(k, key, "set twice (first at line %d); keep one", first)
			continue
		}
		seen[name] = k.Line
		f, found := lookup(fields, name)
		switch {
		case !found && lenient:
			d.warns = append(d.warns, Warning{File: d.file, Line: k.Line, Key: key,
				Msg: "unknown rule key, ignored as DeepFlow ignores it" + suggest(name, fields)})
		case !found:
			d.errorf(k, key, "unknown key%s", suggest(name, fields))
		case deepflowRule || !isNull(v):
			f.decode(d, v, key)
		}
	}
}

// keyName returns a mapping key's text; keys must be plain strings.
func (d *decoder) keyName(k *yaml.Node, path string) (string, bool) {
	k = resolve(k)
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported; write the keys out")
			return "", false
		}
		d.errorf(k, path, "key %s is not a string", describe(k))
		return "", false
	}
	return k.Value, true
}
