// Package render prints for people and scripts: snapshots as the JSON of
// `proctag scan --format json` and the aligned table of `--format table`,
// which `proctag watch` reuses, and explain.Process as the text or JSON of
// `proctag explain`, whose per-plugin effect line (EffectChanges) is the
// one way a plugin result is written. It only formats; it never changes
// what it prints, except that text for a terminal goes through Printable,
// so that what processes, plugins and clients on the bus chose is shown
// and never acted on.
package render
