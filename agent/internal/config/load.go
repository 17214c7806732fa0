package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the config file at path and parses it with Parse. A file that
// cannot be read is an *Error (line 0) wrapping the cause, so
// errors.Is(err, fs.ErrNotExist) works.
func Load(path string) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &Error{File: path, Msg: fmt.Sprintf("read config: %s", errText(err)), err: err}
	}
	return Parse(data, path)
}

// errText drops the path an *os.PathError repeats.
func errText(err error) string {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses a config file's content. file names it in errors and
// warnings and anchors relative paths. It applies the defaults of Default
// for every key left out and validates every key, returning all problems at
// once as errors.Join of *Error, sorted by line. Warnings, sorted by line
// (for example DeepFlow keys at the top level or under static_config that
// proctag ignores), come back even on success.
func Parse(data []byte, file string) (*Config, []Warning, error) {
	d := &decoder{file: file, dir: filepath.Dir(file)}
	c := Default()
	c.File = file
	root, ok := d.document(data)
	if !ok {
		return nil, nil, d.err()
	}
	if root != nil {
		d.top(root, &c)
	}
	slices.SortStableFunc(d.warns, func(a, b Warning) int { return cmp.Compare(a.Line, b.Line) })
	if err := d.err(); err != nil {
		return nil, d.warns, err
	}
	return &c, d.warns, nil
}

// err joins the collected errors in line order; nil when there are none.
func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parserProblems are the messages of yaml.v3's parser (not scanner) errors,
// whose "line N" is 0-based (yaml.v3's parser.fail adds 1 for scanner
// errors only).
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected node content",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"found undefined tag handle",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
}

// document parses data as one YAML document and returns its root node, nil
// for an empty document. A syntax error is recorded with its line (1 when
// the YAML parser does not say).
func (d *decoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		d.syntax(err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntax(err)
		return nil, false
	default:
		d.errorf(&next, "", "a second YAML document starts here; a config is one document")
		return nil, false
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, true
	}
	return doc.Content[0], true
}

func (d *decoder) syntax(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if slices.Contains(parserProblems, msg) {
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: max(line, 1), Msg: "invalid YAML: " + msg, err: err})
}

// entry is a key found at the top level or under static_config.
type entry struct {
	key, value *yaml.Node
	path       string // "os-proc-root" or "static_config.os-proc-root"
}

// top decodes the root mapping: proctag's keys and DeepFlow's, the latter
// at the top level or under static_config. The other top-level keys of a
// DeepFlow agent-group config (deepflowGroupKeys) are ignored with one
// warning.
func (d *decoder) top(root *yaml.Node, c *Config) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		d.bad(root, "", "a config (a mapping of keys such as os-proc-sync-enabled)")
		return
	}
	fields := configFields(c)
	found := make(map[string]entry)
	seen := make(map[string]int)
	var ignored []string // DeepFlow agent-group keys
	ignoredLine := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name, ok := d.keyName(k, "")
		if !ok {
			continue
		}
		if first, dup := seen[name]; dup {
			d.errorf(k, name, "set twice (first at line %d); keep one", first)
			continue
		}
		seen[name] = k.Line
		if name == "static_config" {
			d.static(k, v, fields, found)
			continue
		}
		if _, known := lookup(fields, name); !known {
			if isDeepFlowGroupKey(name) {
				ignored = append(ignored, name)
				ignoredLine = cmp.Or(ignoredLine, k.Line)
				continue
			}
			d.errorf(k, name, "unknown key%s", suggestTop(name, fields))
			continue
		}
		d.add(found, entry{key: k, value: v, path: name}, name)
	}
	if len(ignored) > 0 {
		d.warns = append(d.warns, Warning{File: d.file, Line: ignoredLine,
			Msg: "ignoring DeepFlow agent-group keys proctag does not use: " + strings.Join(ignored, ", ")})
	}
	for _, f := range fields {
		e, ok := found[f.name]
		if !ok || isNull(e.value) {
			continue
		}
		f.decode(d, e.value, e.path)
	}
	if e, ok := found["nats"]; ok && !isNull(e.value) {
		d.checkNATS(&c.NATS, e.key)
	}
}

// add records a key, refusing one given both at the top level and under
// static_config.
func (d *decoder) add(found map[string]entry, e entry, name string) {
	if other, dup := found[name]; dup {
		first, second := other, e
		if second.key.Line < first.key.Line {
			first, second = second, first
		}
		d.errorf(second.key, second.path, "also set at line %d as %s; keep one", first.key.Line, first.path)
		return
	}
	found[name] = e
}

// static collects DeepFlow's keys under static_config and warns once about
// the others, which proctag ignores.
func (d *decoder) static(k, v *yaml.Node, fields []field, found map[string]entry) {
	if isNull(v) {
		return
	}
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		d.bad(v, "static_config", "a mapping")
		return
	}
	var ignored []string
	seen := make(map[string]int)
	for i := 0; i+1 < len(v.Content); i += 2 {
		sk, sv := v.Content[i], v.Content[i+1]
		name, ok := d.keyName(sk, "static_config")
		if !ok {
			continue
		}
		path := "static_config." + name
		if first, dup := seen[name]; dup {
			d.errorf(sk, path, "set twice (first at line %d); keep one", first)
			continue
		}
		seen[name] = sk.Line
		if f, known := lookup(fields, name); !known || !f.deepflow {
			if best := nearDeepFlowKey(name, fields); best != "" {
				// Most likely a typo of a key proctag reads, which would
				// otherwise be ignored without a word about it.
				d.warns = append(d.warns, Warning{File: d.file, Line: sk.Line, Key: path,
					Msg: fmt.Sprintf("not a key proctag reads, ignored (did you mean %s?)", best)})
				continue
			}
			ignored = append(ignored, name)
			continue
		}
		d.add(found, entry{key: sk, value: sv, path: path}, name)
	}
	if len(ignored) > 0 {
		d.warns = append(d.warns, Warning{File: d.file, Line: k.Line, Key: "static_config",
			Msg: "ignoring keys proctag does not use here: " + strings.Join(ignored, ", ")})
	}
}

// nearDeepFlowKey returns the DeepFlow key proctag reads under
// static_config that name is a near miss of (two edits at most, a swap of
// two letters being two), or "".
func nearDeepFlowKey(name string, fields []field) string {
	var names []string
	for _, f := range fields {
		if f.deepflow {
			names = append(names, f.name)
		}
	}
	return nearest(name, names, 3)
}
