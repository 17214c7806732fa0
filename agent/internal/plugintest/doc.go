// Package plugintest is `proctag plugin test`: it loads one .wasm with the
// grant of a manifest, runs it on processes from a procfs tree (the live
// /proc or a recorded/generated one) exactly as the agent would, and prints
// each input, output, grant violation and call time, then a timing summary.
// Loading, calling and grant checks belong to sandbox; mapping a manifest
// to a sandbox.Spec to the caller (runner.SandboxSpec); scanning to scan.
package plugintest
