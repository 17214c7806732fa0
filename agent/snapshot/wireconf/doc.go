// Package wireconf holds only tests: the conformance test of the proctag
// wire format. Its reader (reader_test.go, order_test.go) is written from
// agent/snapshot/WIRE.md alone, as a client in another language would be:
// it uses the standard library, nats.go to subscribe and
// klauspost/compress/zstd, and none of agent/snapshot's types or
// functions (TestReaderImportsOnlyWhatWIREmdAllows checks its imports). The
// conformance test runs the real publisher (agent/internal/publish)
// against an in-process NATS server and checks, message after message,
// that the reader's state, as generic JSON, is the state the agent
// published. Where the reader needed something WIRE.md did not say,
// WIRE.md was fixed. TestNodeSubscriberFollowsTheAgent does the same with
// examples/node-subscriber/follow.mjs, a Node.js reader written from
// WIRE.md, run as a child process (it needs node and `make node-deps`).
package wireconf
