package childtest

import (
	"os/exec"
	"testing"
)

// TestStart runs cat: a line written to its stdin comes back on its stdout,
// closing stdin ends it; a program that does not exist is an error.
func TestStart(t *testing.T) {
	cmd := exec.Command("cat")
	out, in, err := Start(t, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Write([]byte("ready\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v; want the line written", line, err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cat after stdin closed: %v", err)
	}
	if _, _, err := Start(t, exec.Command("/nonexistent/program")); err == nil {
		t.Fatal("starting a program that does not exist succeeded")
	}
}
