// Package sdktest runs a built plugin module the way the proctag agent calls
// it, for plugin tests and benchmarks: Build compiles a plugin directory with
// the standard toolchain, Load instantiates the module under wazero as a
// WASI reactor with the proctag_v1 imports, and a Plugin calls its exports
// directly (proctag_alloc, proctag_init, proctag_process,
// proctag_process_batch) with records encoded by package abi.
//
// It checks the ABI (exports, version, output framing) but not the
// operator's grant, and it sets no deadline or memory cap: those are the
// agent's (agent/internal/sandbox). A Plugin is one instance and is not
// safe for concurrent use.
package sdktest
