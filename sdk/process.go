package sdk

import (
	"strings"

	"github.com/proctag/proctag/abi"
)

// Process is the process a handler is called for: the record fields the
// operator granted the plugin (PID, Name, Argv, Tags, ...; see abi.Record).
// Fields that are not granted are zero; Has tells them apart from empty
// ones.
//
// The Process and its slices are reused for the next call: a handler may keep
// its strings, not the Process or its slices.
type Process struct {
	abi.Record
}

// Has reports whether the record carried every field of f; a scalar field
// is carried exactly when it is granted, a list (argv, tags, env) when it is
// granted and not empty.
func (p *Process) Has(f abi.Fields) bool { return p.Present.Has(f) }

// Tag returns the value of the process's tag key and whether it has it.
func (p *Process) Tag(key string) (string, bool) {
	for _, t := range p.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Getenv returns the value of the environment variable name and whether it
// is set; it is never set unless the operator granted the plugin `env`.
func (p *Process) Getenv(name string) (string, bool) {
	for _, kv := range p.Env {
		if len(kv) > len(name) && kv[len(name)] == '=' && strings.HasPrefix(kv, name) {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}
