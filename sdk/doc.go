// Package sdk is the Go SDK for proctag plugins: a plugin author registers
// one handler over a typed Process and a Result builder, and the SDK does the
// rest of the ABI (abi/ABI.md): the exports, the input buffer, decoding,
// batching, encoding, and the log import.
//
//	package main
//
//	import "github.com/proctag/proctag/sdk"
//
//	func main() {}
//
//	func init() {
//		sdk.Handle(func(p *sdk.Process, out *sdk.Result) {
//			if p.ProcessName == "java" {
//				out.SetTag("acme.io/lang", "java")
//			}
//		})
//	}
//
// Build with the standard toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// The `//go:wasmexport` functions live in files built only for wasip1; the
// rest (decoding, dispatch, encoding, Log) builds natively too, so a plugin's
// handler is unit-tested with plain `go test`, and sdktest runs the built
// module under wazero the way the agent does.
//
// Panics: a panic in a handler or an init function is not recovered. The Go
// runtime prints it to stderr (the agent logs it with the plugin's name) and
// the call traps (`wasm error: unreachable`); the host counts a fault,
// discards the instance and keeps the process's previous result. Recover in
// your handler if a panic is an expected outcome for some input.
//
// Concurrency: the host runs one call at a time per instance, so handlers
// need no locking; they must not start goroutines that outlive the call.
package sdk
