package snapshot

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// BenchmarkEncodeFull measures JSON + zstd + chunking of a 10k-process,
// 100k-socket snapshot and reports the raw and wire sizes and their ratio
// (target: ratio ≥ 5).
func BenchmarkEncodeFull(b *testing.B) {
	s := synth(10_000, 100_000, 1)
	raw, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	w := newWire(b, 0)
	var wireBytes, chunks int
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		msgs := w.snapshot(1, s)
		wireBytes, chunks = 0, len(msgs)
		for i := range msgs {
			wireBytes += msgs[i].Size()
		}
	}
	b.ReportMetric(float64(len(raw)), "json-bytes")
	b.ReportMetric(float64(wireBytes), "wire-bytes")
	b.ReportMetric(float64(len(raw))/float64(wireBytes), "ratio")
	b.ReportMetric(float64(chunks), "chunks")
}

// BenchmarkDiffFull measures Diff between two 10k/100k states that differ by
// a busy tick's churn.
func BenchmarkDiffFull(b *testing.B) {
	prev := synth(10_000, 100_000, 1)
	next := churn(prev, 100, 2)
	b.ReportAllocs()
	for b.Loop() {
		Diff(prev, next)
	}
}

// BenchmarkWirePerTick reports the bytes one tick puts on the wire: a quiet
// host (nothing changed: one heartbeat; target < 1 KB), a typical host (5
// processes and 50 sockets replaced) and a busy host (100 processes and
// 1000 sockets replaced), on a 10k/100k state.
func BenchmarkWirePerTick(b *testing.B) {
	prev := synth(10_000, 100_000, 1)
	cases := []struct {
		name  string
		churn int
	}{{"quiet", 0}, {"typical", 5}, {"busy", 100}}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			next := churn(prev, c.churn, 3)
			w := newWire(b, 0)
			var bytes int
			b.ReportAllocs()
			for b.Loop() {
				d := Diff(prev, next)
				var msgs []Message
				if d.Empty() {
					msgs = w.heartbeat(1)
				} else {
					msgs = w.delta(2, 1, d)
				}
				bytes = 0
				for i := range msgs {
					bytes += msgs[i].Size()
				}
			}
			b.ReportMetric(float64(bytes), "wire-bytes/tick")
		})
	}
}

// BenchmarkAssemblerDelta measures the subscriber's cost for one typical
// delta message on a 10k/100k state: parse headers, decode, apply.
func BenchmarkAssemblerDelta(b *testing.B) {
	s1 := synth(10_000, 100_000, 1)
	s2 := churn(s1, 5, 2)
	w := newWire(b, 0)
	a, err := NewAssembler(AssemblerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range w.snapshot(1, s1) {
		if _, err := a.Feed(m.Subject, m.Header, m.Data); err != nil {
			b.Fatal(err)
		}
	}
	forward, back := Diff(s1, s2), Diff(s2, s1)
	seq := uint64(1)
	b.ReportAllocs()
	for b.Loop() {
		d := forward
		if seq%2 == 0 {
			d = back
		}
		b.StopTimer()
		msgs := w.delta(seq+1, seq, d)
		b.StartTimer()
		c, err := a.Feed(msgs[0].Subject, msgs[0].Header, msgs[0].Data)
		if err != nil || c == nil || c.NeedResync {
			b.Fatalf("feed: %+v %v", c, err)
		}
		seq++
	}
}

// BenchmarkAssemblerFull measures the subscriber's cost for a full
// 10k/100k snapshot: join chunks, decompress, decode, validate.
func BenchmarkAssemblerFull(b *testing.B) {
	s := synth(10_000, 100_000, 1)
	w := newWire(b, 0)
	a, err := NewAssembler(AssemblerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	msgs := w.snapshot(1, s)
	seq := 1
	b.ReportAllocs()
	for b.Loop() {
		for i := range msgs {
			msgs[i].Header[HeaderSeq] = []string{itoa(seq)}
			msgs[i].Header[HeaderMsgID] = []string{itoa(seq)}
		}
		var c *Change
		for i := range msgs {
			if c, err = a.Feed(msgs[i].Subject, msgs[i].Header, msgs[i].Data); err != nil {
				b.Fatal(err)
			}
		}
		if c == nil || c.Seq != uint64(seq) {
			b.Fatalf("no state change: %+v", c)
		}
		seq++
	}
}

// BenchmarkApplyInPlace measures one delta applied in place to a state of
// the fleet simulator's size (300 processes, 3,000 sockets): 2 processes
// replaced, 2 renamed, 20 sockets replaced at random places.
func BenchmarkApplyInPlace(b *testing.B) {
	s1 := synth(300, 3000, 1)
	s2 := s1.Clone()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		j := r.IntN(len(s2.Sockets))
		s2.Sockets[j].Inode = uint64(50_000_000 + i)
		s2.Sockets[j].LocalPort++
	}
	s2 = churn(s2, 2, 3)
	forward, back := Diff(s1, s2), Diff(s2, s1)
	state := s1.Clone()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d := forward
		if n%2 == 1 {
			d = back
		}
		if err := d.ApplyInPlace(state); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
