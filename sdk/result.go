package sdk

import "github.com/proctag/proctag/abi"

// Result collects what a handler decides for one process. It starts empty
// ("unchanged") on every call; each method adds an op. The host applies the
// ops only within the plugin's grant (capabilities, tag-prefix) and rejects
// the whole result otherwise (abi/ABI.md, section 6).
type Result struct {
	r abi.Result
}

// Rename sets the process's new name; it needs the rename capability. The
// last call wins.
func (r *Result) Rename(name string) { r.r.Rename, r.r.HasRename = name, true }

// SetTag adds the tag key or replaces its value; it needs the tag
// capability and key must start with the plugin's tag-prefix. Setting the
// same key twice keeps the last value.
func (r *Result) SetTag(key, value string) {
	for i := range r.r.SetTags {
		if r.r.SetTags[i].Key == key {
			r.r.SetTags[i].Value = value
			return
		}
	}
	r.r.SetTags = append(r.r.SetTags, abi.Tag{Key: key, Value: value})
}

// RemoveTag removes the tag key from the process, if it has it; it needs the
// tag capability and the key must start with the plugin's tag-prefix. The
// host applies removals before SetTag ops.
func (r *Result) RemoveTag(key string) { r.r.RemoveTags = append(r.r.RemoveTags, key) }

// Drop asks the host not to report the process; it needs the drop
// capability.
func (r *Result) Drop() { r.r.Drop = true }

// Changed reports whether the result has any op.
func (r *Result) Changed() bool { return !r.r.Empty() }

// Renamed returns the new name and whether Rename was called; for tests.
func (r *Result) Renamed() (string, bool) { return r.r.Rename, r.r.HasRename }

// Tags returns the tags set so far, in order; for tests. The slice belongs
// to r.
func (r *Result) Tags() []abi.Tag { return r.r.SetTags }

// RemovedTags returns the keys removed so far; for tests. The slice belongs
// to r.
func (r *Result) RemovedTags() []string { return r.r.RemoveTags }

// Dropped reports whether Drop was called; for tests.
func (r *Result) Dropped() bool { return r.r.Drop }

// Reset empties r, keeping its memory; the SDK calls it before each call.
func (r *Result) Reset() { r.r.Reset() }
