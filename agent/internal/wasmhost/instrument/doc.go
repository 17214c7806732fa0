// Package instrument rewrites a WebAssembly module so that its code checks
// a stop flag inline: it adds two mutable i32 globals, stop (exported as
// StopExport) and fuel, and after the block type of every loop inserts the
// code loopCheck describes: every Fuel iterations the loop checks stop,
// traps with unreachable if it is set, and exits to the host once (a
// memory.grow of 0 pages) so that a Go host's runtime can stop the world.
// A host that sets stop to 1 from another goroutine makes the guest trap
// within Fuel iterations of its current loop, so a looping guest can be
// stopped without the runtime checking for termination at every loop
// header. Every computation that does not end is a loop or a recursion;
// recursion ends by exhausting the call stack, so loops are the only place
// a check is needed.
//
// The rewriter decodes every instruction of WebAssembly 1.0 plus the sign
// extension, non-trapping float-to-int, bulk memory and reference types
// proposals. It refuses (returns an error, never panics) anything else:
// SIMD and threads instructions, tail calls, multiple memories, a module
// that already exports StopExport, one without a memory, one with a start function (it runs
// during instantiation, before a host can reach the global), or a
// malformed module. DWARF custom sections (.debug_*) are dropped, since
// the code offsets they record move.
package instrument
