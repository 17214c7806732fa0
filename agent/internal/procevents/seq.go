package procevents

// maxCPUs bounds the cpus whose counters seqTracker follows; a message
// from a higher cpu number (or the -1 of an acknowledgement on kernels that
// keep it) cannot be placed and makes the tracker start over.
const maxCPUs = 8192

// seqTracker finds lost messages from the kernel's per-cpu message
// counters: send_msg in drivers/connector/cn_proc.c numbers each message
// with the sending cpu's counter, so two messages from one cpu that are
// not consecutive have messages between them that this socket never got
// (the socket overflowed, or the kernel could not allocate them). The zero
// value knows no counter yet. It is not safe for concurrent use.
type seqTracker struct {
	// next[cpu]-1 is the last seq seen from cpu; 0 means none yet.
	next []uint64
}

// observe records seq from cpu and returns how many messages from cpu are
// missing before it (0 for the first message of a cpu, for the next one
// and for one that went backwards, which restarts the count).
func (t *seqTracker) observe(cpu, seq uint32) uint32 {
	if cpu >= maxCPUs {
		t.reset()
		return 0
	}
	if int(cpu) >= len(t.next) {
		grown := make([]uint64, int(cpu)+1)
		copy(grown, t.next)
		t.next = grown
	}
	prev := t.next[cpu]
	t.next[cpu] = uint64(seq) + 1
	if prev == 0 {
		return 0
	}
	gap := seq - uint32(prev) // wraps with the kernel's u32 counter
	if gap >= 1<<31 {
		return 0 // older than expected: start over from this one
	}
	return gap
}

// reset forgets every counter, after a loss the tracker cannot place (an
// overflowed socket reports its loss itself).
func (t *seqTracker) reset() {
	clear(t.next)
}
