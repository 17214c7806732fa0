// Package redact hides secrets in process command lines before they leave
// the host (config key cmdline-redact).
//
// It owns the patterns (the built-in defaults and the operator's) and their
// application to a string; which field is redacted and when is the
// caller's choice. The pipeline redacts on every tick, per reported
// process, the cmdline it publishes, the cmdline (and argv) it hands to
// plugins, and the published name, since a rule's rewrite-name or a
// plugin's rename can carry text of the cmdline. A pattern's capture groups
// say what to hide: each participating group's text becomes `***`; a
// pattern without groups hides its whole match.
//
// The cmdline is argv joined by single spaces, so a secret that contained a
// space is hidden only up to that space.
package redact
