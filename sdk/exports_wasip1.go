//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/proctag/proctag/abi"
)

// The ABI's exports (abi/ABI.md, section 3). Pointers cross as i32 offsets
// in linear memory; Go's wasm garbage collector does not move objects, and
// plugin.in and plugin.out keep the buffers the host reads and writes alive.

//go:wasmexport proctag_abi_version
func exportABIVersion() int32 { return int32(abi.Version()) }

//go:wasmexport proctag_alloc
func exportAlloc(size int32) unsafe.Pointer {
	b, ok := plugin.alloc(size)
	if !ok {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

//go:wasmexport proctag_init
func exportInit(ptr unsafe.Pointer, n int32) int32 {
	return plugin.initialise(guestBytes(ptr, n))
}

//go:wasmexport proctag_process
func exportProcess(ptr unsafe.Pointer, n int32) int64 {
	return packOutput(plugin.process(guestBytes(ptr, n)))
}

//go:wasmexport proctag_process_batch
func exportProcessBatch(ptr unsafe.Pointer, n int32) int64 {
	return packOutput(plugin.processBatch(guestBytes(ptr, n)))
}

// guestBytes is the n bytes the host wrote at ptr.
func guestBytes(ptr unsafe.Pointer, n int32) []byte {
	if ptr == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(ptr), n)
}

// packOutput turns an output buffer or a negative code into the i64 the
// process exports return.
func packOutput(out []byte, code int64) int64 {
	if code < 0 {
		return code
	}
	if len(out) == 0 {
		return 0
	}
	return abi.PackResult(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(out)))), uint32(len(out)))
}
