package sockets

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fditer"
)

// afterDump is the real fd iterator; after its dump returns it runs then
// once: a socket opened while the Collect runs, as on a busy host.
type afterDump struct {
	it   *fditer.Iter
	then func()
}

func (a *afterDump) Dump(fn func(pid int, startTicks, inode uint64)) error {
	err := a.it.Dump(fn)
	if a.then != nil {
		a.then()
		a.then = nil
	}
	return err
}

// TestSocketOpenedAroundTheDump: this process, an owner, opens a TCP
// listener right after the first Collect's descriptor dump. The steady
// Collects that follow must report it: the dump comes after the tables
// are read (a socket is in the dump whenever it is in a table), and the
// rewalk of a socket's candidate holders counts the dump as their walk
// of that Collect. With the dump before the tables, every owner counted as
// walked before the listener was in a table, the rewalk settled it as
// held by no one, and it stayed unreported until the next full Collect.
func TestSocketOpenedAroundTheDump(t *testing.T) {
	it := openFDIter(t)

	var ln net.Listener
	var lnInode uint64
	d := &afterDump{it: it, then: func() {
		var err error
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		lnInode = inodeOf(ln.(*net.TCPListener))
	}}
	c := newCollector(t, "/proc", 0)
	c.UseFDs(d)
	owners := []Owner{realOwner(t, os.Getpid())}
	if _, err := c.Collect(t.Context(), time.Now(), owners, true); err != nil {
		t.Fatal(err)
	}
	if ln == nil {
		t.Fatal("the first Collect did not dump")
	}
	defer ln.Close()
	for i := range 3 {
		got, err := c.Collect(t.Context(), time.Now(), owners, false)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range got {
			if s.Inode == lnInode {
				found = true
			}
		}
		if !found {
			t.Errorf("steady Collect %d after the dump: the listener %d of owner %d (in /proc/%d/fd, in the tcp table) is not reported; unowned[%d] = %v (0 is settled)",
				i+1, lnInode, os.Getpid(), os.Getpid(), lnInode, c.unowned[lnInode])
		}
	}
}
