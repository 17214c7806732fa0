package runner

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/proctag/proctag/agent/internal/procevents"
)

// monoNow is the CLOCK_MONOTONIC reading events would carry now.
func monoNow() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// TestWaker checks which process events wake a tick: with min-lifetime 3
// s a fork wakes one 4 s later only if the process still lives then, a
// kernel thread never, an exit only of a published process; with 0 every
// fork and exit at once; lost events always.
func TestWaker(t *testing.T) {
	const pub, other, kid = 100, 200, 300
	fork := func(pid, parent int32) procevents.Event {
		return procevents.Event{Kind: procevents.KindFork, PID: pid, TGID: pid, ParentPID: parent, ParentTGID: parent, Time: monoNow()}
	}
	exit := func(pid int32) procevents.Event {
		return procevents.Event{Kind: procevents.KindExit, PID: pid, TGID: pid, Time: monoNow()}
	}
	thread := procevents.Event{Kind: procevents.KindFork, PID: kid + 1, TGID: kid, Time: monoNow()}
	for _, tt := range []struct {
		name     string
		min      time.Duration
		events   []procevents.Event
		lost     bool
		alive    bool
		at       time.Duration // when the timer fires, after the batch
		wantTick bool
	}{
		{"fork, alive when old enough", 3 * time.Second, []procevents.Event{fork(kid, 1)}, false, true, 5 * time.Second, true},
		{"fork, gone when old enough", 3 * time.Second, []procevents.Event{fork(kid, 1)}, false, false, 5 * time.Second, false},
		{"fork, not old enough yet", 3 * time.Second, []procevents.Event{fork(kid, 1)}, false, true, 2 * time.Second, false},
		{"kernel thread", 3 * time.Second, []procevents.Event{fork(kid, kthreadd)}, false, true, 5 * time.Second, false},
		{"thread of a process", 3 * time.Second, []procevents.Event{thread}, false, true, 5 * time.Second, false},
		{"exit of a published process", 3 * time.Second, []procevents.Event{exit(pub)}, false, false, time.Second, true},
		{"exit of another", 3 * time.Second, []procevents.Event{exit(other)}, false, false, time.Second, false},
		{"min-lifetime 0: fork", 0, []procevents.Event{fork(kid, 1)}, false, false, time.Second, true},
		{"min-lifetime 0: exit", 0, []procevents.Event{exit(other)}, false, false, time.Second, true},
		{"lost", 3 * time.Second, nil, true, false, time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWaker(tt.min)
			defer w.timer.Stop()
			w.alive = func(int32) bool { return tt.alive }
			forced := false
			now := time.Now()
			w.batch(procevents.Batch{Events: tt.events, Lost: tt.lost}, now, func() { forced = true }, func(pid int) bool { return pid == pub })
			if forced != tt.lost {
				t.Errorf("full re-read forced %v, lost %v", forced, tt.lost)
			}
			if got := w.fire(now.Add(tt.at)); got != tt.wantTick {
				t.Errorf("tick wanted %v, want %v (due %v)", got, tt.wantTick, w.due)
			}
		})
	}
}
