// Package childtest starts the helper processes of tests (usually the test
// binary itself in a helper mode) with their stdin and stdout piped: the
// child reports on stdout, and the test ends it by closing stdin.
package childtest

import (
	"bufio"
	"io"
	"os/exec"
	"testing"
)

// Start starts cmd with its stdin and stdout piped and returns them. A pipe
// that cannot be made fails t; a failure to start is returned, for the
// caller to fail or skip on. Ending the child and waiting for it are the
// caller's: close stdin, then cmd.Wait, usually in a t.Cleanup.
func Start(t testing.TB, cmd *exec.Cmd) (stdout *bufio.Reader, stdin io.WriteCloser, err error) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return bufio.NewReader(out), in, nil
}
