package tags

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"gopkg.in/yaml.v3"
)

// Entry is one pid's entry in the tag command's output. Being present in a
// map returned by Parse is what makes a process tagged: an entry with
// `tags: []` counts as tagged (for os-proc-sync-tagged-only) even though it
// carries no tag.
type Entry struct {
	// Tags are the entry's tags in output order. A key may repeat, as in
	// DeepFlow, which keeps every pair it is given.
	Tags []Tag
}

// Parse decodes the tag command's stdout: a YAML list of entries like
// `{pid: 1234, tags: [{key: app, value: billing}]}` (usually written in
// block style, one `- pid:` per entry),
// with DeepFlow's tolerance (serde_yaml 0.8.26 on yaml-rust 0.4.5, as its
// agent v6.5.9 locks them, into `Vec<{pid: u64, tags: Vec<{key: String,
// value: String}>}>`):
//
//   - extra keys in an entry or a tag are ignored, a key given twice is an
//     error, `pid` and `tags` are required, `key` and `value` are required;
//   - pid is a plain YAML integer: decimal, 0x hex, 0o octal or 0b binary,
//     optionally `+`; a quoted pid ("12"), a negative, a float, a decimal
//     with a leading zero or null is an error (DeepFlow rejects the whole
//     output then too); a pid that cannot be a process id (over MaxInt) is
//     accepted and dropped;
//   - `tags` must be a list: `tags: []` is a tagged pid with no tags;
//     `tags:` with no value (yaml-rust reads it as `~`), `tags: null`,
//     `tags: ~` or a missing `tags` is an error;
//   - key and value take any scalar's text: `value: 8080` is "8080",
//     `value: null` is "null", and `value:` with no value is "~", the
//     text yaml-rust gives an empty value;
//   - an entry or a tag may also be a two-element list in field order
//     (`[1234, [[app, billing]]]`), as serde accepts for structs;
//   - aliases are followed; a pid listed twice keeps its last entry;
//   - more than one YAML document is an error.
//
// One deliberate difference: empty output (or only comments, or a lone null
// document) is an empty list rather than an error, so that a command that
// prints nothing when it has nothing to say clears the tags instead of
// keeping the previous tick's ones (see Runner.Run).
func Parse(data []byte) (map[int]Entry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[int]Entry{}, nil
		}
		return nil, fmt.Errorf("parse tag output: %w", err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("parse tag output: %w", err)
	default:
		return nil, fmt.Errorf("parse tag output: line %d: more than one YAML document", next.Line)
	}
	// Every node of an alias-free document uses at least one input byte, so
	// a larger count can only come from aliases repeating subtrees.
	p := parser{budget: len(data) + 1}
	return p.document(&doc)
}

// parser walks a decoded YAML tree. budget bounds the entries and tags
// visited, so that aliases cannot blow a few kilobytes up into billions.
type parser struct {
	budget int
}

func (p *parser) spend(n *yaml.Node) error {
	p.budget--
	if p.budget < 0 {
		return fmt.Errorf("line %d: aliases expand to more entries and tags than the output has bytes", n.Line)
	}
	return nil
}

func (p *parser) document(doc *yaml.Node) (map[int]Entry, error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolve(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Style&(yaml.TaggedStyle|quotedStyles) == 0 {
		return map[int]Entry{}, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, parseErrorf(root, "the output is %s, not a list of {pid, tags}", describe(root))
	}
	out := make(map[int]Entry, len(root.Content))
	for i, item := range root.Content {
		pid, entry, err := p.entry(resolve(item))
		if err != nil {
			return nil, fmt.Errorf("parse tag output: entry %d: %w", i, err)
		}
		if pid < 0 {
			continue // a valid u64 that no process can have
		}
		out[pid] = entry // DeepFlow collects into a HashMap: the last one wins
	}
	return out, nil
}

// entry decodes one `{pid, tags}`; pid is -1 when it does not fit an int.
func (p *parser) entry(n *yaml.Node) (int, Entry, error) {
	if err := p.spend(n); err != nil {
		return 0, Entry{}, err
	}
	pidNode, tagsNode, err := fields(n, "pid", "tags")
	if err != nil {
		return 0, Entry{}, err
	}
	pid, err := parsePID(pidNode)
	if err != nil {
		return 0, Entry{}, err
	}
	list := resolve(tagsNode)
	if list.Kind != yaml.SequenceNode {
		return 0, Entry{}, fmt.Errorf("line %d: tags is %s, not a list (use tags: [] for none)", list.Line, describe(list))
	}
	entry := Entry{Tags: make([]Tag, 0, len(list.Content))}
	for j, item := range list.Content {
		item = resolve(item)
		if err := p.spend(item); err != nil {
			return 0, Entry{}, err
		}
		k, v, err := fields(item, "key", "value")
		if err != nil {
			return 0, Entry{}, fmt.Errorf("tag %d: %w", j, err)
		}
		key, err := scalarText(k, "key")
		if err != nil {
			return 0, Entry{}, fmt.Errorf("tag %d: %w", j, err)
		}
		value, err := scalarText(v, "value")
		if err != nil {
			return 0, Entry{}, fmt.Errorf("tag %d: %w", j, err)
		}
		entry.Tags = append(entry.Tags, Tag{Key: key, Value: value})
	}
	if pid > math.MaxInt {
		return -1, Entry{}, nil
	}
	return int(pid), entry, nil
}

// fields returns the two required fields of a struct-like node: a mapping
// with those keys (others ignored, duplicates rejected) or a two-element
// sequence in field order, as serde's derived Deserialize accepts.
func fields(n *yaml.Node, first, second string) (*yaml.Node, *yaml.Node, error) {
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) != 2 {
			return nil, nil, fmt.Errorf("line %d: a list form must have 2 elements (%s, %s), got %d", n.Line, first, second, len(n.Content))
		}
		return n.Content[0], n.Content[1], nil
	case yaml.MappingNode:
		var a, b *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, nil, fmt.Errorf("line %d: a key is %s, not a string", k.Line, describe(k))
			}
			var slot **yaml.Node
			switch k.Value {
			case first:
				slot = &a
			case second:
				slot = &b
			default:
				continue // serde ignores unknown fields
			}
			if *slot != nil {
				return nil, nil, fmt.Errorf("line %d: duplicate key %s", k.Line, k.Value)
			}
			*slot = n.Content[i+1]
		}
		if a == nil {
			return nil, nil, fmt.Errorf("line %d: missing key %s", n.Line, first)
		}
		if b == nil {
			return nil, nil, fmt.Errorf("line %d: missing key %s", n.Line, second)
		}
		return a, b, nil
	default:
		return nil, nil, fmt.Errorf("line %d: got %s, want a mapping with %s and %s", n.Line, describe(n), first, second)
	}
}

// scalarText is serde_yaml 0.8's deserialize_str: any scalar gives its text,
// whatever its tag or style, an empty value the "~" yaml-rust reads for
// it; collections are errors.
func scalarText(n *yaml.Node, name string) (string, error) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: %s is %s, not a string", n.Line, name, describe(n))
	}
	if isVoid(n) {
		return "~", nil
	}
	return n.Value, nil
}

const quotedStyles = yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle

// resolve follows aliases to the anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// isVoid reports whether n is an empty plain value (`value:` with nothing
// after it), which yaml-rust reads as the plain scalar `~`.
func isVoid(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.Style&(yaml.TaggedStyle|quotedStyles) == 0
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if isVoid(n) {
			return "empty"
		}
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "empty"
	}
}

func parseErrorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("parse tag output: line %d: %s", n.Line, fmt.Sprintf(format, args...))
}
