package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"github.com/proctag/proctag/agent/internal/bench/report"
	"github.com/proctag/proctag/agent/snapshot"
	"github.com/proctag/proctag/agent/snapshot/natssub"
)

// childFlag starts the binary as the subscriber child.
const childFlag = "-subscriber-child"

// isChild reports whether args start the subscriber child.
func isChild(args []string) bool { return len(args) > 0 && args[0] == childFlag }

// The child's line protocol: the parent writes one command a line on the
// child's stdin, the child answers each with one JSON line on stdout. The
// first line the child writes, unasked, is its readyAnswer. Closing stdin
// stops it.
const (
	cmdState = "state" // stateAnswer: every host's digest, seq and sync
	cmdHosts = "hosts" // stateAnswer without digests: cheap, for progress
	cmdStats = "stats" // statsAnswer: CPU, memory, bytes received
	cmdFlow  = "flow"  // flowAnswer: the flow index's lookup benchmark
)

// readyAnswer says the subscriber is subscribed (and replaying the
// stream, with JetStream), or why not.
type readyAnswer struct {
	JetStream bool   `json:"jetstream"`
	Error     string `json:"error,omitempty"`
}

// hostView is what the subscriber has of one host.
type hostView struct {
	Digest digest `json:"d"`
	Seq    uint64 `json:"seq"`
	Synced bool   `json:"synced"`
}

// stateAnswer is every host's view, by host id.
type stateAnswer struct {
	Hosts map[string]hostView `json:"hosts"`
}

// statsAnswer is what the child process has used and received so far.
type statsAnswer struct {
	// CPUNanos is user plus system time (getrusage, the whole process).
	CPUNanos int64 `json:"cpu_ns"`
	// MaxRSS is the peak resident set (VmHWM, report.ReadHWM; not
	// ru_maxrss, which counts the parent's resident set at the fork); RSS
	// the resident set now (/proc/self/statm).
	MaxRSS int64 `json:"max_rss"`
	RSS    int64 `json:"rss"`
	// HeapLive is the Go heap the last collection found live
	// (runtime/metrics /gc/heap/live:bytes): what the states and the flow
	// index hold, without the garbage waiting for the next collection.
	HeapLive int64 `json:"heap_live"`
	// GoMapped is all the memory the Go runtime has mapped
	// (/memory/classes/total:bytes), of which GoReleased was given back to
	// the kernel: what is left, beyond the live heap, is garbage, free
	// heap kept for reuse, stacks and the runtime's own.
	GoMapped   int64 `json:"go_mapped"`
	GoReleased int64 `json:"go_released"`
	// Bytes and Msgs are what the server sent, by kind (kindNames).
	Bytes map[string]uint64 `json:"bytes"`
	Msgs  map[string]uint64 `json:"msgs"`
	// Resyncs counts the changes that asked for a resync (a gap, a new
	// epoch, a contradiction), Dropped the changes the subscriber dropped
	// because the flow index was behind.
	Resyncs   uint64            `json:"resyncs"`
	Reasons   map[string]uint64 `json:"reasons"`
	Dropped   uint64            `json:"dropped"`
	Hosts     int               `json:"hosts"`
	FlowHosts int               `json:"flow_hosts"`
}

// subscriberChild is the child's state: the connection, the subscriber,
// the flow index following it and the digests already computed.
type subscriberChild struct {
	wire    *wireCounter
	sub     *natssub.Subscriber
	flows   *natssub.FlowIndex
	resyncs atomic.Uint64
	network string
	// heapProfile, when set, is rewritten with a heap profile at each
	// stats command.
	heapProfile string

	mu      sync.Mutex
	digests map[string]cachedDigest
	reasons map[string]uint64 // the resyncs' reasons
}

// cachedDigest is the digest of a host's state at one epoch and seq: a
// state the subscriber has not changed is not hashed again.
type cachedDigest struct {
	epoch string
	seq   uint64
	d     digest
}

// runChild runs the subscriber child until its stdin closes.
func runChild(args []string) error {
	fs := flag.NewFlagSet("fleet subscriber", flag.ContinueOnError)
	url := fs.String("url", "", "server URLs, the preferred first")
	prefix := fs.String("prefix", snapshot.DefaultSubjectPrefix, "subject prefix")
	name := fs.String("name", "fleet subscriber", "connection name")
	network := fs.String("network", "", "the hosts' network, for the flow lookups")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the child's whole run to this file")
	sockets := fs.Int("sockets", 0, "the fleet's sockets, which the flow index is sized for (natssub.FlowConfig.Sockets)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	c := &subscriberChild{wire: &wireCounter{prefix: *prefix}, digests: map[string]cachedDigest{}, reasons: map[string]uint64{}, network: *network}
	if *cpuProfile != "" {
		c.heapProfile = strings.TrimSuffix(*cpuProfile, ".prof") + ".heap"
	}
	nc, err := nats.Connect(*url, nats.Name(*name), nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.SetCustomDialer(c.wire))
	if err != nil {
		return err
	}
	defer nc.Close()
	logger := hclog.New(&hclog.LoggerOptions{Name: *name, Level: hclog.Warn, Output: os.Stderr})
	c.sub, err = natssub.New(nc, natssub.Config{Prefix: *prefix, ChangeBuffer: 1 << 14, InPlace: true, NoStateCopies: true}, logger)
	if err != nil {
		return err
	}
	c.flows = natssub.NewFlowIndex(natssub.FlowConfig{Sockets: *sockets})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.sub.Run(ctx) }()
	var wg sync.WaitGroup
	wg.Go(func() {
		c.flows.Follow(ctx, c.sub, func(ch snapshot.Change) {
			if ch.NeedResync {
				c.resyncs.Add(1)
				c.mu.Lock()
				c.reasons[ch.Reason]++
				c.mu.Unlock()
			}
		})
	})
	defer wg.Wait()
	defer cancel()

	out := json.NewEncoder(os.Stdout)
	select {
	case <-c.sub.Ready():
	case err := <-runErr:
		if err == nil {
			err = errors.New("subscriber stopped")
		}
		_ = out.Encode(readyAnswer{Error: err.Error()})
		return err
	}
	if err := out.Encode(readyAnswer{JetStream: c.sub.UsesJetStream()}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var answer any
		switch cmd := strings.TrimSpace(in.Text()); cmd {
		case cmdState:
			answer = c.state()
		case cmdHosts:
			answer = c.hosts()
		case cmdStats:
			answer = c.stats()
		case cmdFlow:
			answer = c.flowBench()
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		if err := out.Encode(answer); err != nil {
			return err
		}
	}
	return in.Err()
}

// state is every host's view; a state not seen before is hashed under the
// subscriber's lock, in place: hashing the lists holds the lock about as
// long as copying them did, and costs the subscriber's process less than
// a copy and a hash.
func (c *subscriberChild) state() stateAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := stateAnswer{Hosts: map[string]hostView{}}
	for _, h := range c.sub.Hosts() {
		var info snapshot.HostInfo
		cd, cached := c.digests[h]
		ok := c.sub.View(h, func(st *snapshot.Snapshot, in snapshot.HostInfo) {
			info = in
			if !cached || cd.epoch != in.Epoch || cd.seq != in.Seq {
				cd = cachedDigest{epoch: in.Epoch, seq: in.Seq, d: stateDigest(st)}
				c.digests[h] = cd
			}
		})
		if !ok {
			continue
		}
		a.Hosts[h] = hostView{Digest: cd.d, Seq: info.Seq, Synced: info.Synced}
	}
	return a
}

// hosts is every host's seq and sync, without hashing a state.
func (c *subscriberChild) hosts() stateAnswer {
	a := stateAnswer{Hosts: map[string]hostView{}}
	for _, h := range c.sub.Hosts() {
		if info, ok := c.sub.Info(h); ok {
			a.Hosts[h] = hostView{Seq: info.Seq, Synced: info.Synced}
		}
	}
	return a
}

// stats is the process's usage and the bytes received.
func (c *subscriberChild) stats() statsAnswer {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	a := statsAnswer{
		CPUNanos: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Nanoseconds(),
		RSS:      currentRSS(),
		Bytes:    map[string]uint64{}, Msgs: map[string]uint64{},
		Resyncs: c.resyncs.Load(), Dropped: c.sub.Dropped(),
		Hosts: len(c.sub.Hosts()), FlowHosts: c.flows.Hosts(),
	}
	a.MaxRSS, _ = report.ReadHWM(0)
	mem := goMemory("/gc/heap/live:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes")
	a.HeapLive, a.GoMapped, a.GoReleased = mem[0], mem[1], mem[2]
	if c.heapProfile != "" {
		if f, err := os.Create(c.heapProfile); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	c.mu.Lock()
	a.Reasons = maps.Clone(c.reasons)
	c.mu.Unlock()
	b, m := c.wire.totals()
	for k := range numKinds {
		a.Bytes[kindNames[k]], a.Msgs[kindNames[k]] = b[k], m[k]
	}
	return a
}

// goMemory reads runtime/metrics' counters of the names given.
func goMemory(names ...string) []int64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return v
}

// currentRSS is the resident set now, from the second field of
// /proc/self/statm (pages; proc_pid_statm(5)), 0 when unreadable.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
