package abi

// Tag is one key/value pair: a process tag in a Record, a set_tag op in a
// Result. Tag field ids: 1 key, 2 value.
type Tag struct {
	Key, Value string
}

const (
	tagKey   = 1
	tagValue = 2
)

// Record is what a plugin sees of one process. Each field is written only
// when the plugin is granted it; Present says which fields a decoded record
// carried, so a plugin can tell "not granted" from "empty". Repeated fields
// (Argv, Tags, Env) are absent when empty.
//
// A Record is a plain value, not safe for concurrent use. DecodeRecord and
// DecodeBatch reuse its slices.
type Record struct {
	// PID and PPID are the process and parent ids (field 1, 2).
	PID, PPID int
	// StartTime is the process start, unix milliseconds (field 3, zigzag).
	StartTime int64
	// Name is the name after rules and earlier plugins (field 4).
	Name string
	// ProcessName is the last path element of argv[0] (field 5).
	ProcessName string
	// Argv is /proc/PID/cmdline split on NUL, empty strings removed
	// (field 6, repeated).
	Argv []string
	// Cmdline is argv joined by single spaces, after the agent's redaction
	// (field 14).
	Cmdline string
	// Exe is the target of /proc/PID/exe (field 7).
	Exe string
	// UID is the real uid (field 8).
	UID int
	// User is the name of UID, or its number (field 9).
	User string
	// ContainerID is the container id found in the cgroup (field 10).
	ContainerID string
	// Cgroup is /proc/PID/cgroup as the kernel writes it (field 11).
	Cgroup string
	// Tags are the process's tags so far, own and inherited (field 12,
	// repeated nested Tag).
	Tags []Tag
	// Env is the environment as "K=V" strings (field 13, repeated); only
	// with an explicit grant.
	Env []string
	// Present is the set of fields a decoded record carried; AppendRecord
	// ignores it.
	Present Fields
}

// Reset clears r and keeps its slices' capacity for reuse.
func (r *Record) Reset() {
	argv, tags, env := r.Argv[:0], r.Tags[:0], r.Env[:0]
	*r = Record{Argv: argv, Tags: tags, Env: env}
}

// AppendRecord appends the encoding of the fields of r that allowed grants
// and returns the extended buffer. Scalar fields are written even when zero
// or empty; repeated fields only when they have entries. Negative PID, PPID
// and UID are written as 0. It does not allocate when dst has room.
func AppendRecord(dst []byte, r *Record, allowed Fields) []byte {
	if allowed&FieldPID != 0 {
		dst = appendUint(dst, recPID, nonNeg(r.PID))
	}
	if allowed&FieldPPID != 0 {
		dst = appendUint(dst, recPPID, nonNeg(r.PPID))
	}
	if allowed&FieldStartTime != 0 {
		dst = appendUint(dst, recStartTime, zigzag(r.StartTime))
	}
	if allowed&FieldName != 0 {
		dst = appendString(dst, recName, r.Name)
	}
	if allowed&FieldProcessName != 0 {
		dst = appendString(dst, recProcessName, r.ProcessName)
	}
	if allowed&FieldArgv != 0 {
		for _, a := range r.Argv {
			dst = appendString(dst, recArgv, a)
		}
	}
	if allowed&FieldExe != 0 {
		dst = appendString(dst, recExe, r.Exe)
	}
	if allowed&FieldUID != 0 {
		dst = appendUint(dst, recUID, nonNeg(r.UID))
	}
	if allowed&FieldUser != 0 {
		dst = appendString(dst, recUser, r.User)
	}
	if allowed&FieldContainerID != 0 {
		dst = appendString(dst, recContainerID, r.ContainerID)
	}
	if allowed&FieldCgroup != 0 {
		dst = appendString(dst, recCgroup, r.Cgroup)
	}
	if allowed&FieldTags != 0 {
		for i := range r.Tags {
			dst = appendTag(dst, recTag, &r.Tags[i])
		}
	}
	if allowed&FieldEnv != 0 {
		for _, e := range r.Env {
			dst = appendString(dst, recEnv, e)
		}
	}
	if allowed&FieldCmdline != 0 {
		dst = appendString(dst, recCmdline, r.Cmdline)
	}
	return dst
}

func nonNeg(v int) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// DecodeRecord decodes b into r, replacing its content. Unknown field ids are
// skipped; a repeated singular field keeps its last value. r's slices are
// reused (their old contents are overwritten); the strings are copies, made
// with one allocation for the whole record, so they stay valid after b
// changes (and keep that one copy alive while any of them is in use).
// Errors are *DecodeError wrapping ErrTruncated, ErrOverflow or ErrMalformed;
// r's content is then unspecified.
func DecodeRecord(b []byte, r *Record) error {
	return decodeRecord(b, string(b), r)
}

// decodeRecord decodes b into r taking strings from s, which holds the same
// bytes as b. It is the guest's hot path: the field header's common case
// and the field switch are written out in the loop, because every call is
// dear in a Go wasm guest.
func decodeRecord(b []byte, s string, r *Record) error {
	r.Reset()
	for off := 0; off < len(b); {
		var id uint64
		var start, end int
		if off+1 < len(b) && b[off]-1 < 0x7f && b[off+1] < 0x80 {
			// An id and a length of one byte each, as for almost every field.
			id, start = uint64(b[off]), off+2
			end = start + int(b[off+1])
			if end > len(b) {
				return decodeErr("record", id, off, ErrTruncated)
			}
		} else {
			var err error
			if id, start, end, err = field(b, off); err != nil {
				return decodeErr("record", id, off, err)
			}
		}
		v, vs := b[start:end], s[start:end]
		var err error
		switch id {
		case recPID:
			r.PID, err = fieldInt(v)
		case recPPID:
			r.PPID, err = fieldInt(v)
		case recStartTime:
			var u uint64
			u, err = fieldUint(v)
			r.StartTime = unzigzag(u)
		case recName:
			r.Name = vs
		case recProcessName:
			r.ProcessName = vs
		case recArgv:
			r.Argv = append(r.Argv, vs)
		case recExe:
			r.Exe = vs
		case recUID:
			r.UID, err = fieldInt(v)
		case recUser:
			r.User = vs
		case recContainerID:
			r.ContainerID = vs
		case recCgroup:
			r.Cgroup = vs
		case recTag:
			var t Tag
			t, err = decodeTag(v, vs)
			r.Tags = append(r.Tags, t)
		case recEnv:
			r.Env = append(r.Env, vs)
		case recCmdline:
			r.Cmdline = vs
		default:
			off = end
			continue // unknown: skipped
		}
		if err != nil {
			return decodeErr("record", id, start, err)
		}
		r.Present |= 1 << id
		off = end
	}
	return nil
}

// decodeTag decodes a nested Tag from v, taking strings from s (same bytes).
func decodeTag(v []byte, s string) (Tag, error) {
	var t Tag
	for off := 0; off < len(v); {
		id, start, end, err := field(v, off)
		if err != nil {
			return t, err
		}
		switch id {
		case tagKey:
			t.Key = s[start:end]
		case tagValue:
			t.Value = s[start:end]
		}
		off = end
	}
	return t, nil
}
