package config

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
)

// LoadPartial reads the config file at path like Load, but when the file
// has errors it still returns the config as far as it is valid: every key
// whose value is wrong keeps its default, a list item that is wrong is left
// out, a plugin keeps the keys that are right. It lets `proctag check`
// compile the rules and load the plugins of a config with errors, so that
// one run reports every problem. The config is nil only when there is
// nothing to go on: the file cannot be read or is not YAML. A config
// returned with a non-nil error must never be run.
func LoadPartial(path string) (*Config, []Warning, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &Error{File: path, Msg: "read config: " + errText(err), err: err}
	}
	d := &decoder{file: path, dir: filepath.Dir(path)}
	c := Default()
	c.File = path
	root, ok := d.document(data)
	if !ok {
		return nil, nil, d.err()
	}
	if root != nil {
		d.top(root, &c)
	}
	slices.SortStableFunc(d.warns, func(a, b Warning) int { return cmp.Compare(a.Line, b.Line) })
	return &c, d.warns, d.err()
}
