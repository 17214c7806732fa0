// Package render prints snapshots for people and scripts: the JSON shape of
// `proctag scan --format json` and the aligned table of `--format table`,
// which `proctag watch` reuses. It only formats; it never changes a
// snapshot.
package render
