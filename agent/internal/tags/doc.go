// Package tags implements DeepFlow's os-app-tag-exec: an operator-configured
// command, run every tick, whose stdout is a YAML list of per-pid tags.
//
// The package owns running the command safely and parsing its output. It
// runs the argv directly (never through a shell) as os-app-tag-exec-user, in
// its own process group, with stdin on /dev/null, an environment of PATH
// only, a timeout and caps on stdout and stderr; the whole group is killed
// and the command reaped when it exits, times out or writes too much.
//
// Privilege: the command switches to os-app-tag-exec-user when the agent is
// root or holds CAP_SETUID and CAP_SETGID; otherwise it runs as the agent's
// own (non-root) user. It never runs as root unless the user is written
// root (or 0): a root agent that cannot switch is a start-up error, and a
// user that merely maps to uid 0 is refused. It inherits none of the
// agent's capabilities: they are dropped from the inheritable and ambient
// sets of the thread that starts it.
//
// The output format and its tolerance follow DeepFlow's agent (≤ v6.5,
// serde_yaml 0.8 on yaml-rust deserializing into `Vec<{pid: u64, tags:
// Vec<{key, value}>}>`): see Parse. Matching tags against rules, tagged-only and
// inheritance from parents belong to the rules step; this package only says
// which pids are tagged and with what.
//
// Failures differ from DeepFlow on purpose: when the command fails (exec
// error, non-zero exit, timeout, output over the cap, bad YAML) DeepFlow
// drops every tag for that tick; Runner.Run returns the error together with
// the previous successful tick's result marked Stale, so that one bad run
// does not make every tagged process lose its tags (and its name, for tag
// rules) for a tick.
package tags
