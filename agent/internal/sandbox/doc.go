// Package sandbox runs one WebAssembly plugin safely: it loads a module
// and makes calls to it that always end, within the plugin's grant and
// limits, whatever the module does.
//
// It owns compiling (the sha256 pin, the structural limits checked and the
// module instrumented by package instrument before wazero sees it, so that
// every loop and function entry checks a stop global a timer sets at a
// call's deadline and the call stack is charged against max-stack-size;
// wazero's compiler with a compilation cache, within compile-timeout; the
// exports and imports checked against ABI v1), instances (WASI with no
// preopens, env, args or sockets, a fake clock and deterministic random;
// linear memory capped in an anonymous mapping; start, _initialize,
// proctag_abi_version and proctag_init within init-timeout), a bounded pool
// of instances per plugin (each serving one goroutine at a time, recycled
// after recycleCalls calls or when its memory grew past half of the room
// it had), the deadline of every call, the grant (capabilities
// rename/tag/drop, the tag-key prefix, tag key and value validation,
// readable fields, scope), faults (a trap, timeout, memory fault or bad
// output discards the instance and is returned as a *Fault; an output
// outside the grant is a *Violation) and the guest's log (stdout, stderr
// and the proctag_v1.log import go to the agent's log under the plugin's
// name, line-buffered and rate limited).
//
// What it leaves to others: the plugin step of the pipeline (package
// wasmhost: which plugins run in which order, per-process result caches,
// batching into chunks, the circuit breaker, tick budgets, hot reload of
// plugin directories, counting and logging faults), the ABI itself
// (package abi and abi/ABI.md) and the configuration (package config,
// mapped to a Spec and Limits by package runner). The sandbox reads no
// configuration: each plugin comes as a Spec.
package sandbox
