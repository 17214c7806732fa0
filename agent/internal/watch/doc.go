// Package watch is `proctag watch`: it follows hosts through natssub and
// shows them — a live table redrawn in place on a terminal, one line per
// change otherwise, or, with Once, the current state of every host as JSON
// in the shape of `proctag scan`. Following the wire protocol belongs to
// natssub, formatting a snapshot to render.
package watch
