package runner

import (
	"errors"
	"fmt"
)

// Part names the step of the assembly a Problem belongs to.
type Part string

// The parts Assemble builds, in the order it builds them.
const (
	PartConfig  Part = "config"
	PartRules   Part = "rules"
	PartTagExec Part = "tag-exec"
	PartRedact  Part = "cmdline-redact"
	PartPlugins Part = "plugins"
	PartProcs   Part = "proc-root"
)

// Problem is one thing wrong with a config or with what it names: a key,
// a rule, the tag command, a plugin. Err reads "file:line: key: what is
// wrong" as far as the position is known.
type Problem struct {
	// Part is the step the problem was found in.
	Part Part
	// Fatal problems stop run, scan and explain. The others leave one
	// piece out, as the agent does while it runs: a rule DeepFlow skips,
	// a plugin that does not load.
	Fatal bool
	// Err says where and what.
	Err error
}

// Error returns the text of Err.
func (p Problem) Error() string { return p.Err.Error() }

// Unwrap returns Err, so that errors.Is and errors.As see the cause.
func (p Problem) Unwrap() error { return p.Err }

// Report is everything Assemble found: the problems in the order the parts
// are built, the warnings, and the plugins that loaded.
type Report struct {
	// Problems are every error, fatal or not.
	Problems []Problem
	// Warnings are conditions that change nothing but may surprise: the
	// config's warnings, the rules' DeepFlow traps, sync switched off.
	Warnings []string
	// Plugins are the plugins that loaded, in the order they apply, each
	// with where it came from.
	Plugins []LoadedPlugin
}

// LoadedPlugin is one plugin that loaded and passed its init.
type LoadedPlugin struct {
	// Name is the plugin's name, TENANT/NAME for a tenant's.
	Name string
	// Source is "" for a plugin of the plugins list, "plugin-dir" or
	// "tenant NAME" for a drop-in.
	Source string
}

// add records a problem.
func (r *Report) add(part Part, fatal bool, err error) {
	r.Problems = append(r.Problems, Problem{Part: part, Fatal: fatal, Err: err})
}

// addf records a problem from a format.
func (r *Report) addf(part Part, fatal bool, format string, args ...any) {
	r.add(part, fatal, fmt.Errorf(format, args...))
}

// Fatal returns the fatal problems joined with errors.Join, nil when there
// are none: what stops run, scan and explain.
func (r *Report) Fatal() error {
	var errs []error
	for _, p := range r.Problems {
		if p.Fatal {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

// Consequence says what the agent does about a problem that is not fatal,
// "" for a fatal one.
func (p Problem) Consequence() string {
	if p.Fatal {
		return ""
	}
	switch p.Part {
	case PartRules:
		return "DeepFlow skips this rule; so do run and scan"
	case PartTagExec:
		return "run and scan go on; the command fails every tick"
	case PartPlugins:
		return "run and scan go on without this plugin"
	}
	return "run and scan go on"
}
