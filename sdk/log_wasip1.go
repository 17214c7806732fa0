//go:build wasip1

package sdk

import "unsafe"

//go:wasmimport proctag_v1 log
func logImport(level int32, ptr unsafe.Pointer, n int32)

func hostLog(level Level, msg string) {
	logImport(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}
