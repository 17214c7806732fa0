package scan

import "unique"

// text is the content of a file that many processes have alike (the cgroup
// file of every process of a container, the cmdline of a server's
// workers), held through package unique: one copy per distinct content
// for as long as a process keeps it. The zero text is "".
type text struct{ h unique.Handle[string] }

// makeText returns the text of b.
func makeText(b []byte) text {
	if len(b) == 0 {
		return text{}
	}
	return text{unique.Make(string(b))}
}

// String returns the content.
func (t text) String() string {
	if t == (text{}) {
		return ""
	}
	return t.h.Value()
}
