package rustre

import (
	"fmt"
	"regexp/syntax"
	"unicode/utf8"
)

// boundaryMatcher runs a translated pattern with Rust's Unicode \b and \B:
// a boundary sits between a Unicode word character (isWordRune, Rust's \w)
// and a non-word character. Go's regexp evaluates \b with ASCII word
// characters and offers no hook, so patterns that use \b are run here when
// the subject has non-ASCII text. It is a backtracker over Go's compiled
// program with a visited set (like Go's regexp/backtrack.go), so it is
// linear in len(program) × len(subject) and keeps leftmost-first
// priorities, which are Rust's too.
type boundaryMatcher struct {
	prog *syntax.Prog
}

func newBoundaryMatcher(pattern string) (*boundaryMatcher, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("parse for unicode word boundaries: %w", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("compile for unicode word boundaries: %w", err)
	}
	return &boundaryMatcher{prog: prog}, nil
}

type btJob struct {
	pc      uint32
	pos     int
	restore bool // restore caps[pc] to pos when popped
}

type backtrack struct {
	prog    *syntax.Prog
	s       string
	visited []uint32
	caps    []int
	jobs    []btJob
}

func (m *boundaryMatcher) match(s string) bool { return m.findAt(s, 0) != nil }

// findAll iterates matches like regex 1.8's CaptureMatches: after an empty
// match the next search starts one character later, and an empty match
// that ends where the previous match ended is skipped.
func (m *boundaryMatcher) findAll(s string) [][]int {
	var out [][]int
	searchAt, lastMatch := 0, -1
	for searchAt <= len(s) {
		caps := m.findAt(s, searchAt)
		if caps == nil {
			break
		}
		start, end := caps[0], caps[1]
		if start == end {
			_, w := utf8.DecodeRuneInString(s[end:])
			searchAt = end + max(w, 1)
			if end == lastMatch {
				continue
			}
		} else {
			searchAt = end
		}
		lastMatch = end
		out = append(out, caps)
	}
	return out
}

// findAt returns the leftmost-first match starting at or after from, with
// text before from still visible to \b and ^.
func (m *boundaryMatcher) findAt(s string, from int) []int {
	n := len(m.prog.Inst) * (len(s) + 1)
	b := &backtrack{prog: m.prog, s: s, visited: make([]uint32, (n+31)/32), caps: make([]int, m.prog.NumCap)}
	for start := from; start <= len(s); {
		for i := range b.caps {
			b.caps[i] = -1
		}
		if b.try(uint32(m.prog.Start), start) {
			b.caps[0] = start
			return b.caps
		}
		_, w := utf8.DecodeRuneInString(s[start:])
		start += max(w, 1)
	}
	return nil
}

func (b *backtrack) visit(pc uint32, pos int) bool {
	k := uint(pc)*uint(len(b.s)+1) + uint(pos)
	if b.visited[k/32]&(1<<(k%32)) != 0 {
		return false
	}
	b.visited[k/32] |= 1 << (k % 32)
	return true
}

func (b *backtrack) try(pc0 uint32, pos0 int) bool {
	b.jobs = append(b.jobs[:0], btJob{pc: pc0, pos: pos0})
	for len(b.jobs) > 0 {
		j := b.jobs[len(b.jobs)-1]
		b.jobs = b.jobs[:len(b.jobs)-1]
		if j.restore {
			b.caps[j.pc] = j.pos
			continue
		}
		if b.run(j.pc, j.pos) {
			return true
		}
	}
	return false
}

// run follows one thread until it fails or matches, pushing alternatives.
func (b *backtrack) run(pc uint32, pos int) bool {
	for b.visit(pc, pos) {
		inst := &b.prog.Inst[pc]
		switch inst.Op {
		case syntax.InstFail:
			return false
		case syntax.InstAlt, syntax.InstAltMatch:
			b.jobs = append(b.jobs, btJob{pc: inst.Arg, pos: pos})
			pc = inst.Out
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			r, w := utf8.DecodeRuneInString(b.s[pos:])
			if w == 0 {
				return false
			}
			switch inst.Op {
			case syntax.InstRuneAnyNotNL:
				if r == '\n' {
					return false
				}
			case syntax.InstRuneAny:
			default:
				if !inst.MatchRune(r) {
					return false
				}
			}
			pos += w
			pc = inst.Out
		case syntax.InstCapture:
			if int(inst.Arg) < len(b.caps) {
				b.jobs = append(b.jobs, btJob{pc: inst.Arg, pos: b.caps[inst.Arg], restore: true})
				b.caps[inst.Arg] = pos
			}
			pc = inst.Out
		case syntax.InstEmptyWidth:
			want := syntax.EmptyOp(inst.Arg)
			if b.context(pos)&want != want {
				return false
			}
			pc = inst.Out
		case syntax.InstNop:
			pc = inst.Out
		case syntax.InstMatch:
			b.caps[1] = pos
			return true
		default:
			return false
		}
	}
	return false
}

// context is syntax.EmptyOpContext with Unicode word characters.
func (b *backtrack) context(pos int) syntax.EmptyOp {
	r1, r2 := rune(-1), rune(-1)
	if pos > 0 {
		r1, _ = utf8.DecodeLastRuneInString(b.s[:pos])
	}
	if pos < len(b.s) {
		r2, _ = utf8.DecodeRuneInString(b.s[pos:])
	}
	var op syntax.EmptyOp
	if r1 < 0 {
		op |= syntax.EmptyBeginText | syntax.EmptyBeginLine
	} else if r1 == '\n' {
		op |= syntax.EmptyBeginLine
	}
	if r2 < 0 {
		op |= syntax.EmptyEndText | syntax.EmptyEndLine
	} else if r2 == '\n' {
		op |= syntax.EmptyEndLine
	}
	if (r1 >= 0 && isWordRune(r1)) != (r2 >= 0 && isWordRune(r2)) {
		op |= syntax.EmptyWordBoundary
	} else {
		op |= syntax.EmptyNoWordBoundary
	}
	return op
}
