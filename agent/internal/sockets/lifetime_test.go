package sockets

import (
	"slices"
	"testing"
	"time"

	"github.com/proctag/proctag/agent/internal/fakeproc"
)

func TestCollectMinLifetime(t *testing.T) {
	tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{proc(100, 1, 1000, nsA), proc(101, 100, 5000, nsA)}}
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(10, "0.0.0.0:80", "0.0.0.0:0", fakeproc.TCPListen), 100, 101)
	tree.AddSocket(nsA, fakeproc.TCP, tableRow(11, "10.0.0.1:80", "10.0.0.9:50000", fakeproc.TCPEstablished), 101)
	dir := writeTree(t, tree)
	owners := ownersOf(t, tree, 100, 101)
	start100, start101 := owners[0].StartTime, owners[1].StartTime
	const minLife = 3 * time.Second
	c := newCollector(t, dir, minLife)

	inodes := func(socks []Socket) []uint64 {
		var out []uint64
		for _, s := range socks {
			out = append(out, s.Inode)
		}
		return out
	}
	collect := func(now time.Time, owners []Owner) []Socket {
		t.Helper()
		got, err := c.Collect(t.Context(), now, owners, false)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// First Collect: first seen is the oldest owner's start time. Socket 10
	// is held by 100 (old), socket 11 only by 101, started 1s ago.
	now := start101.Add(time.Second)
	got := collect(now, owners)
	if want := []uint64{10}; !slices.Equal(inodes(got), want) {
		t.Fatalf("first collect reported %v, want %v", inodes(got), want)
	}
	if !got[0].FirstSeen.Equal(start100) {
		t.Errorf("first seen of the shared socket = %v, want the oldest owner's start %v", got[0].FirstSeen, start100)
	}

	// Socket 11 becomes old enough exactly MinLifetime after its owner's start.
	for _, tt := range []struct {
		name string
		now  time.Time
		want []uint64
	}{
		{name: "just before", now: start101.Add(minLife - time.Nanosecond), want: []uint64{10}},
		{name: "exactly at min lifetime", now: start101.Add(minLife), want: []uint64{10, 11}},
	} {
		if got := inodes(collect(tt.now, owners)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: reported %v, want %v", tt.name, got, tt.want)
		}
	}

	// After the first Collect, a new socket's first seen is the tick's time,
	// however old its owner is.
	addSocket(t, dir, tree, nsA, fakeproc.TCP, tableRow(12, "10.0.0.1:80", "10.0.0.8:50001", fakeproc.TCPEstablished), 100)
	tick := start101.Add(time.Hour)
	if got := inodes(collect(tick, owners[1:])); !slices.Equal(got, []uint64{10, 11}) {
		t.Fatalf("without 100: %v", got)
	}
	got = collect(tick.Add(time.Second), owners) // 100 is new again: walked, 12 seen now
	if slices.Contains(inodes(got), 12) {
		t.Errorf("socket 12 reported on the tick it was first seen")
	}
	got = collect(tick.Add(time.Second+minLife), owners)
	i := slices.IndexFunc(got, func(s Socket) bool { return s.Inode == 12 })
	if i < 0 {
		t.Fatalf("socket 12 not reported after min lifetime: %v", inodes(got))
	}
	if want := tick.Add(time.Second); !got[i].FirstSeen.Equal(want) {
		t.Errorf("socket 12 first seen %v, want %v", got[i].FirstSeen, want)
	}

	// The wall clock steps back before socket 12's first sight: its first
	// seen restarts at the new now, the older sockets stay reported.
	back := tick.Add(-30 * time.Minute)
	got = collect(back, owners)
	if want := []uint64{10, 11}; !slices.Equal(inodes(got), want) {
		t.Errorf("after the clock stepped back: %v, want %v", inodes(got), want)
	}
	got = collect(back.Add(minLife), owners)
	if i := slices.IndexFunc(got, func(s Socket) bool { return s.Inode == 12 }); i < 0 || !got[i].FirstSeen.Equal(back) {
		t.Errorf("socket 12 after the clock stepped back: %v", lines(got))
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{MinLifetime: -time.Second}, nil); err == nil {
		t.Error("New accepted a negative min lifetime")
	}
	c, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.root != "/proc" {
		t.Errorf("default root = %q, want /proc", c.root)
	}
}

// TestCollectUnknownStart: an owner whose start time is unknown (zero) or
// before what Unix nanoseconds hold (1678) is taken as started long ago,
// so that its socket is reported at once despite min-lifetime, first seen
// before the Collect.
func TestCollectUnknownStart(t *testing.T) {
	for _, start := range []time.Time{{}, time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)} {
		tree := &fakeproc.Tree{BootTime: bootTime, Procs: []fakeproc.Proc{proc(100, 1, 1000, nsA)}}
		tree.AddSocket(nsA, fakeproc.TCP, tableRow(10, "0.0.0.0:80", "0.0.0.0:0", fakeproc.TCPListen), 100)
		owners := ownersOf(t, tree, 100)
		owners[0].StartTime = start
		c := newCollector(t, writeTree(t, tree), time.Hour)
		now := time.Now()
		got, err := c.Collect(t.Context(), now, owners, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Inode != 10 || !got[0].FirstSeen.Before(now.Add(-time.Hour)) {
			t.Errorf("owner started %v: reported %+v, want socket 10 first seen over an hour before %v", start, got, now)
		}
	}
}
