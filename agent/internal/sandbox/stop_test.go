package sandbox

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestSHA256PinsOriginalBytes: the pin is checked on the file as written,
// not on the instrumented module the host compiles.
func TestSHA256PinsOriginalBytes(t *testing.T) {
	wasm, err := os.ReadFile(modulePath("hand"))
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := checkPin("hand", wasm, "")
	p, err := LoadFile(t.Context(), "", handSpec("hand", func(p *Spec) { p.SHA256 = sum }), hclog.NewNullLogger(), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatalf("load with the file's sha256 pinned: %v", err)
	}
	defer p.Close(context.Background())
	if p.SHA256() != sum || p.StopMode() != StopInline {
		t.Errorf("SHA256 = %s, StopMode = %v; want %s, inline", p.SHA256(), p.StopMode(), sum)
	}
}

// TestStopperGenerations: a timer of an earlier run that fires late does
// not stop a later run, and a run whose timer fired after it finished
// leaves the instance usable.
func TestStopperGenerations(t *testing.T) {
	wasm, err := os.ReadFile(modulePath("hand"))
	if err != nil {
		t.Fatal(err)
	}
	glog := newGuestLog(hclog.NewNullLogger(), time.Now)
	m, err := compileModule(t.Context(), wasm, compileSpec{name: "hand", memoryLimitBytes: 1 << 20, deadline: true}, nil, glog)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close(context.Background())
	in, err := m.newInstance(t.Context(), instanceConfig{name: "hand", memoryLimitBytes: 1 << 20, stdout: io.Discard, stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s := in.stop
	if s == nil {
		t.Fatal("instance of an instrumented module has no stopper")
	}
	s.arm(t.Context(), time.Hour)
	first := s.gen
	s.fire(first) // fires as the run ends
	if !s.disarm() {
		t.Error("disarm after fire = false, want true")
	}
	if got := s.global.Get(); got != 0 {
		t.Errorf("stop global after disarm = %d, want 0", got)
	}
	s.arm(t.Context(), time.Hour)
	s.fire(first) // the first run's timer, late
	if got := s.global.Get(); got != 0 {
		t.Errorf("a late timer of an earlier run set the stop global to %d", got)
	}
	if s.disarm() {
		t.Error("disarm = true after only a stale timer fired")
	}
	out, err := in.call(t.Context(), "hand", time.Second, in.process, []byte{0x01, 0x01, 0x07}, maxOutputBytes)
	if err != nil || len(out) == 0 {
		t.Errorf("call after the stale timer = %x, %v; want the hand result", out, err)
	}

	// A run that ends past its deadline before its timer could run (every
	// P busy in guest code, which Go cannot preempt) is late all the same.
	s.arm(t.Context(), time.Hour)
	s.mu.Lock()
	s.deadline = time.Now().Add(-time.Millisecond)
	s.mu.Unlock()
	if !s.disarm() {
		t.Error("disarm past the deadline with the timer not yet fired = false, want true")
	}
	if got := s.global.Get(); got != 0 {
		t.Errorf("stop global after a late run = %d, want 0", got)
	}
}

// TestStopOnCancel: canceling the caller's context stops an inline-stopped
// guest, and the call returns the context's error, not a fault.
func TestStopOnCancel(t *testing.T) {
	p, err := LoadFile(t.Context(), "", handSpec("loop", func(p *Spec) { p.Timeout = time.Hour }), hclog.NewNullLogger(), WithCacheDir(sharedCacheDir))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	in, err := p.pool.get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	timer := time.AfterFunc(20*time.Millisecond, cancel)
	defer timer.Stop()
	_, err = in.call(ctx, "loop", time.Hour, in.process, []byte{0x01, 0x01, 0x07}, maxOutputBytes)
	if err != context.Canceled {
		t.Fatalf("call = %v, want context.Canceled", err)
	}
}
