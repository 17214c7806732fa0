package rules

import (
	"slices"

	"github.com/proctag/proctag/agent/internal/tags"
)

// inherit is DeepFlow's fill_child_proc_tag_by_parent over the reported
// processes: parent first (recursively), a child gets each tag of its
// parent's final list (own, then inherited) whose key it does not have
// yet, after its own tags. The parent must be reported; ppid 0 and a
// process that is its own parent get nothing. DeepFlow recurses without a
// guard; a ppid cycle here ends at the process already being filled.
func (e *Evaluator) inherit(procs []Proc, out []Verdict) {
	e.state = slices.Grow(e.state[:0], len(procs))[:len(procs)]
	clear(e.state)
	for i := range procs {
		e.fill(procs, out, i)
	}
}

func (e *Evaluator) fill(procs []Proc, out []Verdict, i int) {
	if e.state[i] != 0 || !out[i].Reported {
		return
	}
	e.state[i] = 1
	p := &procs[i]
	var parent []tags.Tag
	if j, ok := e.byPID[p.PPID]; ok && p.PPID != 0 && int(j) != i && out[j].Reported && e.state[j] != 1 {
		e.fill(procs, out, int(j))
		parent = out[j].Tags
	}
	out[i].Tags = e.finalTags(i, p.Tags, parent)
	e.state[i] = 2
}

// finalTags merges own and parent tags (merge_tag) and returns the cached
// slice of the process when the result did not change, so a steady tick
// allocates nothing.
func (e *Evaluator) finalTags(i int, own, parent []tags.Tag) []tags.Tag {
	buf := append(e.tagBuf[:0], own...)
next:
	for _, pt := range parent {
		for _, ct := range buf {
			if ct.Key == pt.Key {
				continue next
			}
		}
		buf = append(buf, pt)
	}
	e.tagBuf = buf
	if len(buf) == 0 {
		return nil
	}
	ce := e.entries[i]
	if ce != nil && slices.Equal(ce.tags, buf) {
		return ce.tags
	}
	t := slices.Clip(slices.Clone(buf)) // cap == len: an append by a reader never shares memory
	if ce != nil {
		ce.tags = t
	}
	return t
}

// FNV-1a, inlined to stay allocation-free.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return fnvInt(h, uint64(len(s)))
}

func fnvInt(h, v uint64) uint64 {
	for k := 0; k < 8; k++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// tagFingerprint covers what tag rules and tagged-only read: the Tagged
// flag and the own tags in order.
func tagFingerprint(p *Proc) uint64 {
	h := uint64(fnvOffset)
	if p.Tagged {
		h = fnvInt(h, 1)
	}
	for _, t := range p.Tags {
		h = fnvString(h, t.Key)
		h = fnvString(h, t.Value)
	}
	return h
}
