package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/bench/procfsnaive"
	"github.com/proctag/proctag/agent/internal/fakeproc"
	"github.com/proctag/proctag/agent/internal/sockdiag/loopconn"
)

// childFlags are the hidden flags of this program's child modes; one run
// is in one mode. Each long-running mode writes "ready PID ..." on stdout
// once set up and ends when its stdin closes.
type childFlags struct {
	// hold is -child-hold N: hold N loopback connections (2N sockets).
	hold int
	// procfs is -child-procfs: one naive procfs read of /proc; minimal is
	// -child-minimal: one raw read of the same (see minimal).
	procfs, minimal bool
	// root is -child-root, the tree they read.
	root string
	// tree is -child-tree DIR: write a generated host of treeProcs
	// processes and treeSockets sockets to DIR (a child, so that this
	// program's own peak RSS, which every child it starts inherits in
	// ru_maxrss, stays small).
	tree                   string
	treeProcs, treeSockets int
	// server is -child-server: accept and close churn connections.
	server bool
	// client is -child-client RATE: dial RATE churn connections a second
	// to addr (-child-addr).
	client int
	addr   string
	// linger is -child-linger: how long a churn connection is held.
	linger time.Duration
}

// isChild reports whether args select a child mode.
func isChild(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "child-") {
			return true
		}
	}
	return false
}

// runChild parses the child flags in args and runs that mode.
func runChild(args []string) error {
	var cf childFlags
	fs := flag.NewFlagSet("realhost (child)", flag.ContinueOnError)
	fs.IntVar(&cf.hold, "child-hold", 0, "hold this many loopback connections until stdin closes")
	fs.BoolVar(&cf.procfs, "child-procfs", false, "one naive prometheus/procfs read of /proc")
	fs.BoolVar(&cf.minimal, "child-minimal", false, "one minimal raw read of /proc")
	fs.StringVar(&cf.root, "child-root", "/proc", "the procfs root -child-procfs and -child-minimal read")
	fs.StringVar(&cf.tree, "child-tree", "", "write a generated host to this directory")
	fs.IntVar(&cf.treeProcs, "child-tree-procs", 10000, "processes of the generated host")
	fs.IntVar(&cf.treeSockets, "child-tree-sockets", 100000, "sockets of the generated host")
	fs.BoolVar(&cf.server, "child-server", false, "accept churn connections until stdin closes")
	fs.IntVar(&cf.client, "child-client", 0, "dial this many churn connections a second until stdin closes")
	fs.StringVar(&cf.addr, "child-addr", "", "the churn server's address, for -child-client")
	fs.DurationVar(&cf.linger, "child-linger", 20*time.Millisecond, "how long a churn connection is held")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cf.hold > 0:
		return holdConns(cf.hold)
	case cf.procfs, cf.minimal:
		read := procfsnaive.Read
		if cf.minimal {
			read = minimal
		}
		procs, socks, err := read(cf.root)
		if err != nil {
			return err
		}
		fmt.Printf("procs %d sockets %d\n", procs, socks)
		return nil
	case cf.tree != "":
		return fakeproc.Generate(cf.treeProcs, cf.treeSockets, treeSeed).Write(cf.tree)
	case cf.server:
		return serve(cf.linger)
	case cf.client > 0:
		return dial(cf.addr, cf.client, cf.linger)
	}
	return errors.New("no child mode given")
}

// holdConns opens n established loopback connections (both ends held
// here), writes "ready PID PORT" and keeps them until stdin closes.
func holdConns(n int) error {
	if err := raiseNoFile(uint64(2*n + 64)); err != nil {
		return err
	}
	p, err := loopconn.Open(n)
	if err != nil {
		return fmt.Errorf("open %d connections: %w", n, err)
	}
	defer p.Close()
	fmt.Printf("ready %d %d\n", os.Getpid(), p.Port)
	<-stdinClosed()
	return nil
}

// raiseNoFile makes RLIMIT_NOFILE's soft limit at least need, raising
// the hard limit too when it is lower (which needs CAP_SYS_RESOURCE).
func raiseNoFile(need uint64) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit nofile: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	lim.Cur, lim.Max = need, max(lim.Max, need)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit nofile to %d: %w", need, err)
	}
	return nil
}

// stdinClosed returns a channel closed once stdin reaches EOF (or fails):
// the parent's signal to stop, which also comes when the parent dies.
func stdinClosed() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(c)
	}()
	return c
}
