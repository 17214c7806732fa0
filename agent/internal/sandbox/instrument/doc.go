// Package instrument rewrites a WebAssembly module so that the host can
// bound what its code does, whatever the code's shape, without the runtime
// checking for termination at every loop header:
//
//   - Every loop header and every function entry checks a stop global the
//     host sets from another goroutine at a call's deadline: the guest traps
//     within Fuel checks. Loops, calls, bulk operations and host calls
//     (below) are the only ways code runs for long (other straight-line
//     code is bounded by the function size limit), so loops, recursion
//     (also exponential, which never exhausts a stack), mutual and
//     indirect recursion are all stopped. Every Fuel checks the code exits
//     to the host once (a memory.grow of 0 pages), so that a Go host's
//     runtime can stop the world for a garbage collection.
//   - Every bulk memory or table operation (memory.fill, memory.copy,
//     memory.init, table.fill, table.copy, table.init) checks stop first,
//     after an exit to the host when its length is 4096 or more: one such
//     instruction runs as long as its length, so straight-line code of
//     them would otherwise run for minutes past a deadline, with the Go
//     runtime unable to stop the world meanwhile. The length goes through
//     a local added to the function.
//   - The code after every call of an imported (host) function checks
//     stop: a host function runs as Go, where the host's timer runs, but
//     straight-line code of thousands of host calls checks nothing else.
//   - Every function entry charges a bound of the function's frame
//     (FrameBytes) to a stack global and traps past Limits.MaxStackBytes;
//     the engine's own stack would grow to hundreds of megabytes first.
//   - Every memory.grow goes through a helper that records a failure in a
//     fault global, so a trap that follows can be named a memory fault.
//   - A start function is exported (StartExport) instead of run when the
//     module is instantiated, before the host can reach the stop global.
//   - Every table's maximum is lowered to Limits.MaxTableElements.
//
// Before rewriting, the module's structure is checked against Limits
// (functions, body size, nesting depth, locals, tables) and fixed bounds
// on the other item counts, so that compiling it is bounded too.
//
// The rewriter decodes every instruction of WebAssembly 1.0 plus the sign
// extension, non-trapping float-to-int, multi-value, bulk memory,
// reference types and fixed-width SIMD proposals. It refuses (returns an
// error, never panics) anything else: threads instructions, tail calls,
// exception handling, multiple memories, a module that uses a name
// starting with ReservedPrefix, one without a memory, or a malformed
// module. DWARF custom sections (.debug_*) are dropped, since the code
// offsets they record move.
package instrument
