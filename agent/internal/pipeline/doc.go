// Package pipeline runs one tick of proctag: scan → tags → rules → plugins
// → sockets → snapshot. It owns the order of the steps and the conversion of
// one step's output into the next step's input, nothing else: each step's
// logic, state and caches live in its own package (scan, sockets, tags,
// rules, wasmhost, redact), and publishing is left to the caller.
//
// A Pipeline is used by one goroutine at a time: `proctag scan` and
// `explain` run a single tick, `proctag run` calls Tick from its loop.
package pipeline
