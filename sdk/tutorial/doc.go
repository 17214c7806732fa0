// Package tutorial holds the tests that keep the SDK tutorial
// (sdk/README.md) and the command examples of the top-level README.md
// true. It has no code of its own.
//
// TestTutorial follows sdk/README.md as a newcomer would, in a fresh
// directory outside the repository: it writes the files the page shows,
// runs its commands in bash, starts its long-running commands as if in a
// second terminal, and checks that the plugin's tag ends up on a process it
// started, in `proctag watch --once --format json` of an agent run with the
// page's config. Before every fenced code block the page has a marker, an
// HTML comment that GitHub does not show:
//
//	<!-- tutorial: file PATH -->     write the block to PATH (relative to the current directory)
//	<!-- tutorial: run [CHECK] -->   run the block in bash (set -e); a cd or export carries over
//	<!-- tutorial: start NAME -->    start the block and leave it running until the test ends
//	<!-- tutorial: skip REASON -->   leave the block alone (sample output, a real host's paths)
//
// A block without a marker fails the test, so nothing shown can go
// untested by accident. CHECK and NAME name the test's hooks: a run block
// with a check is run again until its output passes (the agent publishes
// the plugin's tags from its next tick), a start block's hook waits until
// the process is ready (the stand-in named java, the agent's `plugin
// loaded` line).
//
// The session is a newcomer's: bash with umask 002 (files the page writes
// are group-writable, as an editor would save them), no GOFLAGS (so a
// missing `go mod tidy` fails) and no go.work. The test replaces two
// things, and only these: PROCTAG is set to this checkout with a proctag
// built from it first on PATH (instead of the page's `make build`), and the
// page's NATS address 127.0.0.1:4333 becomes a free port (127.0.0.1:0 in
// files written before the agent starts, the agent's actual address
// afterwards).
//
// TestREADMECommands checks every proctag and make command the two pages
// show, runnable or not: each proctag subcommand exists and takes the flags
// shown, each make target is in the Makefile.
package tutorial
