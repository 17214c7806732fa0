// Package watchview shows what a natssub.Subscriber follows, for `proctag
// watch`: a table per host redrawn in place when the output is a terminal,
// one line per change otherwise, and the `--once` output (each host's state
// as `proctag scan` prints it, JSON or table).
//
// It only presents: the tables and JSON come from package render, the
// states from natssub; flags and the cobra command belong to the CLI.
package watchview
