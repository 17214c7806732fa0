package config

import "fmt"

// Error is one problem in a config file: where it is (File, Line), which key
// (a path such as "os-proc-regex[2].action") and what is wrong, including the
// bad value and what is allowed. Parse and Load return errors.Join of *Error,
// so callers can list every problem with errors.AsType or by unwrapping.
// Line is 0 only when the file could not be read at all.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string

	err error // underlying cause, e.g. fs.ErrNotExist, for errors.Is
}

// Error formats the problem as "file:line: key: msg", leaving out the line
// when it is 0 and the key when it is empty.
func (e *Error) Error() string { return position(e.File, e.Line, e.Key, e.Msg) }

// Unwrap returns the underlying cause, if any, so that errors.Is works for
// conditions like a missing file.
func (e *Error) Unwrap() error { return e.err }

// Warning is a condition in a config file that does not stop proctag, such
// as DeepFlow keys under static_config that proctag ignores. Callers log it
// or print it; it has the same shape as Error.
type Warning struct {
	File string
	Line int
	Key  string
	Msg  string
}

// String formats the warning as "file:line: key: msg".
func (w Warning) String() string { return position(w.File, w.Line, w.Key, w.Msg) }

func position(file string, line int, key, msg string) string {
	s := file
	if line > 0 {
		s = fmt.Sprintf("%s:%d", file, line)
	}
	if key != "" {
		s += ": " + key
	}
	return s + ": " + msg
}
