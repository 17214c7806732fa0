// Package procid owns the identity of a process: the pair (pid, start
// time), so that a reused pid is never taken for the process that had it
// before. It is a type and nothing else, so that every step (scan,
// sockets, the pipeline) can name the same identity without depending on
// another step.
package procid
