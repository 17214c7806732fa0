package sdk

import "github.com/proctag/proctag/abi"

// HandlerFunc decides for one process: it reads p and records its decision
// in out. Leaving out untouched means "unchanged".
type HandlerFunc func(p *Process, out *Result)

// InitFunc receives the plugin's config (the manifest's config value: a
// string verbatim, anything else as JSON; empty when there is none). A
// non-nil error stops the plugin from loading; the SDK logs it at error
// level first, so make it say what is wrong with the config.
type InitFunc func(config []byte) error

// Handle registers the plugin's handler; call it from an init function of
// package main. A second call replaces the first. A plugin without a handler
// fails to initialise.
func Handle(fn HandlerFunc) { plugin.handler = fn }

// OnInit registers the function that checks and keeps the plugin's config;
// it runs once per instance, before the first call of the handler. Parsing
// config there (JSON, YAML by hand) is fine; the handler must stay cheap.
func OnInit(fn InitFunc) { plugin.init = fn }

// plugin is the registered plugin and the buffers its exports reuse. The
// host calls one export at a time per instance, so there is no locking.
var plugin state

// state holds everything the exports share. Its methods are the exports'
// logic, free of pointers into wasm memory so they run natively in tests.
type state struct {
	handler HandlerFunc
	init    InitFunc

	in      []byte  // the buffer proctag_alloc hands out
	out     []byte  // the encoded output, reused
	proc    Process // the decoded input, reused
	res     Result  // the handler's output, reused
	batchFn func(i int, r *abi.Record) error
}

// alloc returns a buffer of at least size bytes (at least one, so its
// address is never nil), valid until the next export call. It reports false
// for a negative size.
func (s *state) alloc(size int32) ([]byte, bool) {
	if size < 0 {
		return nil, false
	}
	n := max(int(size), 1)
	if cap(s.in) < n {
		s.in = make([]byte, n)
	}
	return s.in[:n], true
}

// initialise runs the registered InitFunc on a copy of config and returns
// the export's code: 0 ready, 1 failed.
func (s *state) initialise(config []byte) int32 {
	if s.handler == nil {
		Log(LevelError, "init: no handler registered; call sdk.Handle from an init function")
		return 1
	}
	if s.init == nil {
		return 0
	}
	if err := s.init(append([]byte(nil), config...)); err != nil {
		Log(LevelError, "init: "+err.Error())
		return 1
	}
	return 0
}

// process runs the handler on one encoded record and returns the encoded
// result (empty when unchanged) or a negative code.
func (s *state) process(in []byte) ([]byte, int64) {
	if err := abi.DecodeRecord(in, &s.proc.Record); err != nil {
		Log(LevelError, "process: "+err.Error())
		return nil, abi.CodeBadInput
	}
	s.res.Reset()
	s.handler(&s.proc, &s.res)
	s.out = abi.AppendResult(s.out[:0], &s.res.r)
	return s.out, 0
}

// processBatch runs the handler on every record of an encoded batch and
// returns the encoded BatchResult of the changed ones, or a negative code.
func (s *state) processBatch(in []byte) ([]byte, int64) {
	s.out = s.out[:0]
	if s.batchFn == nil {
		s.batchFn = s.batchRecord
	}
	if err := abi.DecodeBatchInto(in, &s.proc.Record, s.batchFn); err != nil {
		Log(LevelError, "process batch: "+err.Error())
		return nil, abi.CodeBadInput
	}
	return s.out, 0
}

// batchRecord handles one record of a batch, decoded into s.proc, and
// appends its entry to s.out when the result is not empty.
func (s *state) batchRecord(i int, _ *abi.Record) error {
	s.res.Reset()
	s.handler(&s.proc, &s.res)
	if !s.res.r.Empty() {
		one := [1]abi.IndexedResult{{Index: i, Result: s.res.r}}
		s.out = abi.AppendBatchResult(s.out, one[:])
	}
	return nil
}
