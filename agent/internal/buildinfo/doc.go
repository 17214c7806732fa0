// Package buildinfo says which build of proctag is running: its version,
// commit and date, for `proctag version`, the snapshot's agent_version and
// the proctag_build_info metric.
//
// The values come from the link (`make build` passes
// -ldflags "-X github.com/proctag/proctag/agent/internal/buildinfo.version=…",
// with commit and date likewise) and otherwise from what the Go toolchain
// records in the binary (runtime/debug.ReadBuildInfo: the module version,
// vcs.revision, vcs.time, vcs.modified). It owns nothing else.
package buildinfo
