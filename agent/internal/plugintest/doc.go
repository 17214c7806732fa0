// Package plugintest is `proctag plugin test`: it loads one .wasm with the
// grant of a manifest, runs it on processes from a procfs tree (the live
// /proc or a recorded/generated one) exactly as the agent would, and prints
// each input, output, grant violation and call time, then a timing summary.
// Loading, calling and grant checks belong to wasmhost; scanning to scan.
package plugintest
