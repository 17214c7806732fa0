// Package explain holds the answer of `proctag explain` as a value: how
// the rules decided one process (every rule tried, its regex runs, the
// parent walk, the rewrite) and what each plugin then did to it. The
// pipeline fills a Process from its last tick (FromRules and FromEffect
// convert the rules' and the plugin host's own records); package render
// prints it as text or JSON. It only describes; it decides nothing.
package explain
