package abi

import (
	"errors"
	"strconv"
)

// Record field ids (ABI.md, "Record"). Field ids of Tag, Result, Batch and
// BatchResult live beside their types.
const (
	recPID         = 1
	recPPID        = 2
	recStartTime   = 3
	recName        = 4
	recProcessName = 5
	recArgv        = 6
	recExe         = 7
	recUID         = 8
	recUser        = 9
	recContainerID = 10
	recCgroup      = 11
	recTag         = 12
	recEnv         = 13
	recCmdline     = 14
	recMaxField    = 14
)

// Fields is a set of record fields, one bit per field: bit n is the record
// field with id n. The host uses it for a plugin's grant (which fields it may
// read); a decoded Record uses it to say which fields were present.
type Fields uint32

// One bit per record field.
const (
	FieldPID         Fields = 1 << recPID
	FieldPPID        Fields = 1 << recPPID
	FieldStartTime   Fields = 1 << recStartTime
	FieldName        Fields = 1 << recName
	FieldProcessName Fields = 1 << recProcessName
	FieldArgv        Fields = 1 << recArgv
	FieldExe         Fields = 1 << recExe
	FieldUID         Fields = 1 << recUID
	FieldUser        Fields = 1 << recUser
	FieldContainerID Fields = 1 << recContainerID
	FieldCgroup      Fields = 1 << recCgroup
	FieldTags        Fields = 1 << recTag
	FieldEnv         Fields = 1 << recEnv
	FieldCmdline     Fields = 1 << recCmdline

	// FieldsAll is every v1.0 record field.
	FieldsAll = FieldPID | FieldPPID | FieldStartTime | FieldName |
		FieldProcessName | FieldArgv | FieldExe | FieldUID | FieldUser |
		FieldContainerID | FieldCgroup | FieldTags | FieldEnv | FieldCmdline
	// FieldsDefault is the grant of a plugin whose manifest names no
	// fields: the process's pid and its two names, the least a plugin
	// needs to say something about a process. Every other field must be
	// granted by name, so that a plugin reads, and the host encodes and
	// the guest decodes, only what the operator chose to show it.
	FieldsDefault = FieldPID | FieldName | FieldProcessName
)

// fieldNames maps field ids to the names manifests use (`fields:`), which
// are the snake_case names of the published process fields.
var fieldNames = [recMaxField + 1]string{
	recPID:         "pid",
	recPPID:        "ppid",
	recStartTime:   "start_time",
	recName:        "name",
	recProcessName: "process_name",
	recArgv:        "argv",
	recExe:         "exe",
	recUID:         "uid",
	recUser:        "user",
	recContainerID: "container_id",
	recCgroup:      "cgroup",
	recTag:         "tags",
	recEnv:         "env",
	recCmdline:     "cmdline",
}

// ErrUnknownField is returned by FieldsFromNames for a name that is not a
// record field.
var ErrUnknownField = errors.New("unknown record field")

// FieldsFromNames returns the set named by a manifest's `fields` list. Names
// are the snake_case field names ("pid", "start_time", "argv", "tags",
// "env", ...); an unknown name gives an error wrapping ErrUnknownField that
// names it and lists the allowed names.
func FieldsFromNames(names []string) (Fields, error) {
	var f Fields
	for _, n := range names {
		bit := fieldByName(n)
		if bit == 0 {
			return 0, &fieldNameError{name: n}
		}
		f |= bit
	}
	return f, nil
}

func fieldByName(n string) Fields {
	for id, name := range fieldNames {
		if name != "" && name == n {
			return 1 << id
		}
	}
	return 0
}

type fieldNameError struct{ name string }

func (e *fieldNameError) Error() string {
	return "record field " + strconv.Quote(e.name) + " is not one of " + FieldsAll.String()
}

func (e *fieldNameError) Unwrap() error { return ErrUnknownField }

// Has reports whether every field of g is in f.
func (f Fields) Has(g Fields) bool { return f&g == g }

// Names returns the names of the fields in f, in field id order.
func (f Fields) Names() []string {
	var out []string
	for id, name := range fieldNames {
		if name != "" && f&(1<<id) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String returns the field names joined by commas, e.g. "pid,name,argv".
func (f Fields) String() string {
	s := ""
	for _, n := range f.Names() {
		if s != "" {
			s += ","
		}
		s += n
	}
	return s
}
