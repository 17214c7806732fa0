package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParsePluginManifest parses a plugin manifest, the NAME.yaml file beside
// NAME.wasm in plugin-dir. It has the keys of a plugins: entry; name
// defaults to NAME (and must equal it when given) and path to NAME.wasm in
// the manifest's directory. file is the manifest's path, used for both.
// Errors are errors.Join of *Error, like Parse's.
func ParsePluginManifest(data []byte, file string) (Plugin, error) {
	d := &decoder{file: file, dir: filepath.Dir(file)}
	name, root, ok := d.manifest(data)
	if !ok {
		return Plugin{}, d.err()
	}
	p := d.plugin(root, "", name, defaultPlugin())
	if err := d.err(); err != nil {
		return Plugin{}, err
	}
	return p, nil
}

// manifest parses a manifest's document and returns the plugin name its
// file gives and its root mapping (an empty one for an empty document);
// ok is false after an error.
func (d *decoder) manifest(data []byte) (name string, root *yaml.Node, ok bool) {
	name = strings.TrimSuffix(filepath.Base(d.file), filepath.Ext(d.file))
	root, ok = d.document(data)
	if !ok {
		return "", nil, false
	}
	if root == nil {
		root = &yaml.Node{Kind: yaml.MappingNode, Line: 1}
	}
	if !isToken(name) || len(name) > 64 {
		d.errorf(root, "", "file name %q does not give a valid plugin name (up to 64 letters, digits, _ and -)", name)
		return "", nil, false
	}
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		d.bad(root, "", "a plugin manifest (a mapping with path, capabilities, ...)")
		return "", nil, false
	}
	return name, root, true
}

// pluginConfig decodes a plugin's config: a string verbatim, anything else
// as JSON.
func (d *decoder) pluginConfig(v *yaml.Node, key string, dst *[]byte) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
		*dst = []byte(v.Value)
		return
	}
	var x any
	if err := v.Decode(&x); err != nil {
		d.errorf(v, key, "cannot be read: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	j, err := jsonValue(x)
	if err == nil {
		*dst, err = json.Marshal(j)
	}
	if err != nil {
		d.errorf(v, key, "cannot be passed as JSON: %s", err)
	}
}

// jsonValue turns a decoded YAML value into one encoding/json accepts:
// mapping keys become strings.
func jsonValue(x any) (any, error) {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			j, err := jsonValue(v)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			j, err := jsonValue(v)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = j
		}
		return m, nil
	case []any:
		for i, v := range x {
			j, err := jsonValue(v)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errors.New("NaN and infinity have no JSON form")
		}
	}
	return x, nil
}
