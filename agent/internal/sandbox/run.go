package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/proctag/proctag/abi"
)

// Outcome is what became of one record in a Run.
type Outcome struct {
	// Called reports that the record was sent to the plugin.
	Called bool
	// Result is the plugin's result, when Err is nil.
	Result abi.Result
	// Err is the *Fault of the call that carried the record, the
	// *Violation of its result (Result is then zero), the context's error
	// at shutdown, or nil. A record not called after an earlier record's
	// fault has neither Called nor Err.
	Err error
}

// Run calls the plugin for recs, each encoded with abi.AppendRecord and
// the plugin's Fields, on one instance from the pool: one
// proctag_process_batch call when the module exports it and there are
// several records, else one proctag_process call per record, stopping at
// the first fault (the records after it are not called). Every result is
// checked against the grant. It fills out[i] for recs[i] (len(out) must
// be len(recs)).
//
// It returns the *Fault that discarded the instance (also when no
// instance could be started), else the first *Violation, else nil; at
// shutdown (ctx done) it returns nil and the records carry the context's
// error. A fault or a violation discards the instance; a healthy one goes
// back to the pool, or is recycled.
func (p *Plugin) Run(ctx context.Context, recs [][]byte, out []Outcome) error {
	in, err := p.pool.get(ctx)
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		if ctx.Err() == nil {
			return err
		}
		return nil
	}
	start := time.Now()
	if p.mod.hasBatch && len(recs) > 1 {
		err = p.runBatch(ctx, in, recs, out)
	} else {
		err = p.runSingle(ctx, in, recs, out)
	}
	p.counters.CallNanos.Add(int64(time.Since(start)))
	healthy := err == nil
	var violation error
	for i := range out {
		if o := &out[i]; o.Called && o.Err == nil {
			if msg := p.grant.check(&o.Result); msg != "" {
				v := &Violation{Plugin: p.name, Reason: msg}
				o.Err, o.Result, healthy = v, abi.Result{}, false
				if violation == nil {
					violation = v
				}
			}
		}
	}
	if p.pool.put(ctx, in, healthy) {
		p.counters.Recycled.Add(1)
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return violation
}

func (p *Plugin) runSingle(ctx context.Context, in *instance, recs [][]byte, out []Outcome) error {
	for i, rec := range recs {
		o := &out[i]
		p.counters.Calls.Add(1)
		p.counters.Records.Add(1)
		res, err := in.call(ctx, p.name, p.timeout, in.process, rec, maxOutputBytes)
		o.Called = true
		if err == nil {
			if derr := abi.DecodeResult(res, &o.Result); derr != nil {
				err = &Fault{Plugin: p.name, Kind: FaultBadOutput, Err: fmt.Errorf("decode result: %w", derr)}
			}
		}
		if err != nil {
			o.Err = err
			return err // the rest wait for a later call
		}
	}
	return nil
}

func (p *Plugin) runBatch(ctx context.Context, in *instance, recs [][]byte, out []Outcome) error {
	var input []byte
	for _, rec := range recs {
		input = abi.AppendBatchRecord(input, rec)
	}
	p.counters.Calls.Add(1)
	p.counters.Records.Add(uint64(len(recs)))
	res, err := in.call(ctx, p.name, p.timeout, in.batch, input, uint32(maxOutputBytes*len(recs)))
	for i := range out {
		out[i].Called = true
	}
	if err == nil {
		var results []abi.Result
		if results, err = decodeBatchOutput(res, len(recs)); err != nil {
			err = &Fault{Plugin: p.name, Kind: FaultBadOutput, Err: err}
		} else {
			for i := range out {
				out[i].Result = results[i]
			}
		}
	}
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
	}
	return err
}

// decodeBatchOutput decodes a guest's BatchResult for a batch of n records:
// one Result per record, zero for those without an entry; a later entry
// for an index replaces an earlier one (ABI.md, "Batch"). An index outside
// the batch makes the whole output invalid.
func decodeBatchOutput(out []byte, n int) ([]abi.Result, error) {
	results := make([]abi.Result, n)
	err := abi.DecodeBatchResult(out, func(ir abi.IndexedResult) error {
		if ir.Index < 0 || ir.Index >= n {
			return fmt.Errorf("result index %d outside the batch of %d", ir.Index, n)
		}
		results[ir.Index] = ir.Result
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode batch result: %w", err)
	}
	return results, nil
}
