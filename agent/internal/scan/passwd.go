package scan

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// users maps uids to names from a passwd(5) file, reloaded when the file's
// modification time changes. It is used by one goroutine at a time.
type users struct {
	path  string
	mtime time.Time
	names map[int]string
	// numbers caches the decimal strings of uids without a name.
	numbers map[int]string
}

func newUsers(path string) *users {
	return &users{path: path, names: map[int]string{}, numbers: map[int]string{}}
}

// refresh reloads the file when it changed; a missing or unreadable file
// leaves every uid nameless.
func (u *users) refresh() {
	fi, err := os.Stat(u.path)
	if err != nil {
		if len(u.names) > 0 {
			u.names, u.mtime = map[int]string{}, time.Time{}
		}
		return
	}
	if fi.ModTime().Equal(u.mtime) {
		return
	}
	b, err := os.ReadFile(u.path)
	if err != nil {
		return
	}
	u.names, u.mtime = parsePasswd(b), fi.ModTime()
}

// name returns the user name of uid, or uid in decimal when it has none.
func (u *users) name(uid int) string {
	if n, ok := u.names[uid]; ok {
		return n
	}
	if n, ok := u.numbers[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	u.numbers[uid] = n
	return n
}

// parsePasswd reads "name:password:uid:gid:gecos:home:shell" lines; the
// first name of a uid wins, as getpwuid does.
func parsePasswd(b []byte) map[int]string {
	names := make(map[int]string)
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		f := bytes.SplitN(line, []byte{':'}, 4)
		if len(f) < 4 || len(f[0]) == 0 || f[0][0] == '#' {
			continue
		}
		uid, ok := atou(f[2])
		if !ok || uid > 1<<32-1 {
			continue
		}
		if _, dup := names[int(uid)]; !dup {
			names[int(uid)] = string(f[0])
		}
	}
	return names
}
