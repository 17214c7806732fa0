// Package wasmhost runs proctag's WebAssembly plugins: the pipeline step
// after the rules, on the processes they accepted.
//
// It owns the wazero runtimes (compiler mode, one compiled module per
// plugin version, a disk compilation cache), a bounded pool of instances
// per plugin (each serving one goroutine at a time, recycled after
// recycleCalls calls or when its memory grew past half of the room it had),
// the sandbox (WASI with no preopens, env, args or sockets, a fake clock
// and deterministic random; stdout, stderr and the proctag_v1.log import go
// to the agent log under the plugin's name, line-buffered and rate
// limited), the limits (memory cap, a per-call deadline that stops a
// looping guest: each module is instrumented at load by package instrument
// so that its loops check a stop global a timer sets, and runs without
// wazero's per-iteration context checks; a module the rewriter refuses
// keeps those checks, see StopMode), the grants (capabilities rename/tag/drop, the tag-key
// prefix, tag key and value validation, readable fields, scope), fault
// handling (the instance is discarded, the process keeps its previous
// result, the fault is counted and logged once per kind, repeated faults
// open a circuit breaker with exponential backoff and a half-open probe),
// the per-process result cache (a plugin is called again only when the
// grant-filtered record it sees changed, or it was reloaded) and hot reload
// of plugin-dir.
//
// The ABI itself (export and import names, the record encoding) is
// package abi and abi/ABI.md; plugin configuration is parsed by package
// config. The caller (the agent's tick) hands Apply the accepted processes
// and uses the Outputs; `proctag check` uses Check and `proctag plugin
// test` LoadFile and (*Plugin).Call.
package wasmhost
