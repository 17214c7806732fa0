package main

import "github.com/proctag/proctag/abi"

var results []abi.IndexedResult

//go:wasmexport proctag_process_batch
func processBatch(ptr uint32, n int32) int64 {
	results = results[:0]
	var raw []byte
	var code int64
	err := abi.DecodeBatch(inbuf[:n], func(i int, r *abi.Record) error {
		var res abi.Result
		var done bool
		if raw, code, done = decide(r, &res); done {
			if raw != nil || code != 0 {
				return errStop
			}
			return nil
		}
		if !res.Empty() {
			results = append(results, abi.IndexedResult{Index: i, Result: res})
		}
		return nil
	})
	switch {
	case err == errStop && raw != nil:
		outbuf = append(outbuf[:0], raw...)
		return abi.PackResult(ptrOf(outbuf), uint32(len(outbuf)))
	case err == errStop:
		return code
	case err != nil:
		return abi.CodeBadInput
	}
	if len(results) == 0 {
		return 0
	}
	outbuf = abi.AppendBatchResult(outbuf[:0], results)
	return abi.PackResult(ptrOf(outbuf), uint32(len(outbuf)))
}

type stop struct{}

func (stop) Error() string { return "stop" }

var errStop error = stop{}
