package abi

// Result field ids (ABI.md, "Result").
const (
	resRename    = 1
	resSetTag    = 2
	resRemoveTag = 3
	resDrop      = 4
)

// MaxTagsPerResult is the most tags a Result may set, and the most it may
// remove (ABI.md, "Result").
const MaxTagsPerResult = 64

// Result is what a plugin decided for one process. The zero Result means
// "unchanged" and encodes to zero bytes. The host applies a result in this
// order: Drop (nothing else then matters), RemoveTags, SetTags (so a key in
// both ends up set), Rename; each op only if the plugin's grant allows it.
//
// A Result is a plain value, not safe for concurrent use.
type Result struct {
	// Rename is the new name (field 1); it applies only when HasRename is
	// set, so a Result can tell "rename to empty" (refused by the host)
	// from "keep the name".
	Rename    string
	HasRename bool
	// SetTags adds or replaces tags (field 2, repeated nested Tag).
	SetTags []Tag
	// RemoveTags removes tags by key (field 3, repeated string).
	RemoveTags []string
	// Drop asks the host not to report the process (field 4, uvarint 1).
	Drop bool
}

// Reset clears r and keeps its slices' capacity for reuse.
func (r *Result) Reset() {
	set, rm := r.SetTags[:0], r.RemoveTags[:0]
	*r = Result{SetTags: set, RemoveTags: rm}
}

// Empty reports whether r changes nothing (it encodes to zero bytes).
func (r *Result) Empty() bool {
	return !r.HasRename && len(r.SetTags) == 0 && len(r.RemoveTags) == 0 && !r.Drop
}

// AppendResult appends the encoding of r and returns the extended buffer.
// An empty result appends nothing. It does not allocate when dst has room.
func AppendResult(dst []byte, r *Result) []byte {
	if r.HasRename {
		dst = appendString(dst, resRename, r.Rename)
	}
	for i := range r.SetTags {
		dst = appendTag(dst, resSetTag, &r.SetTags[i])
	}
	for _, k := range r.RemoveTags {
		dst = appendString(dst, resRemoveTag, k)
	}
	if r.Drop {
		dst = appendUint(dst, resDrop, 1)
	}
	return dst
}

// countTags counts the set-tag fields of an encoded result, up to
// MaxTagsPerResult and up to the first malformed field (which
// decodeResult then refuses), so that a fresh Result's tags take one
// allocation.
func countTags(b []byte) int {
	n := 0
	for off := 0; off < len(b) && n < MaxTagsPerResult; {
		id, _, end, err := field(b, off)
		if err != nil {
			break
		}
		if id == resSetTag {
			n++
		}
		off = end
	}
	return n
}

// DecodeResult decodes b into r, replacing its content. Unknown field ids
// (ops of a newer minor) are skipped; a drop value of 0 means no drop, any
// other value drop. More than MaxTagsPerResult set or removed tags is
// ErrTooMany, found before the next tag is decoded. Slices and strings
// behave as in DecodeRecord.
func DecodeResult(b []byte, r *Result) error {
	return decodeResult(b, string(b), r)
}

func decodeResult(b []byte, s string, r *Result) error {
	r.Reset()
	if r.SetTags == nil {
		if n := countTags(b); n > 0 {
			r.SetTags = make([]Tag, 0, n)
		}
	}
	for off := 0; off < len(b); {
		id, start, end, err := field(b, off)
		if err != nil {
			return decodeErr("result", id, off, err)
		}
		switch id {
		case resRename:
			r.Rename, r.HasRename = s[start:end], true
		case resSetTag:
			if len(r.SetTags) == MaxTagsPerResult {
				return decodeErr("result", id, off, ErrTooMany)
			}
			t, err := decodeTag(b[start:end], s[start:end])
			if err != nil {
				return decodeErr("result", id, start, err)
			}
			r.SetTags = append(r.SetTags, t)
		case resRemoveTag:
			if len(r.RemoveTags) == MaxTagsPerResult {
				return decodeErr("result", id, off, ErrTooMany)
			}
			r.RemoveTags = append(r.RemoveTags, s[start:end])
		case resDrop:
			u, err := fieldUint(b[start:end])
			if err != nil {
				return decodeErr("result", id, start, err)
			}
			r.Drop = u != 0
		}
		off = end
	}
	return nil
}
