// Command realhost measures what a user pays for the agent on this
// machine's real kernel, with real sockets held by real processes, and
// prints one table row per measurement: the figure, the figure it is
// compared with, their ratio, and the target with ✓ or ✗ (miss).
//
// Load: -holders child processes of this binary (50 by default), each
// holding -sockets-per-holder/2 established loopback TCP connections with
// both ends open (loopconn.Open), so 100,000 ESTABLISHED sockets by
// default. Churn: a server child that accepts on 127.0.0.1 and closes each
// connection at EOF or after -hold, a client child dialling -churn-rate
// short connections a second (each held -hold) and an outbound child
// dialling -outbound-rate a second; the clients report each connection's
// local port, so that the connections they made are known.
//
// Measurements:
//
//  1. Cold scan: CPU (user+system, from wait4) and peak RSS of
//     `proctag scan --format json > /dev/null` against this program's
//     -child-procfs mode (bench/procfsnaive, the naive prometheus/procfs
//     read of BenchmarkProcfsNaive) and its -child-minimal mode (raw
//     system calls, the floor), each run -repeat times; the medians
//     compare.
//  2. Agent CPU per minute on the quiet host, `proctag run` with
//     os-proc-events on against off, with min-lifetime
//     -idle-min-lifetime (3 s, DeepFlow's default): utime+stime of
//     /proc/PID/stat over -idle after -warmup, and the peak RSS (VmHWM).
//  3. Churn attribution: for each connection the clients made, whether
//     the agent's states on NATS (Closed, or Sockets while it lived) name
//     the right process on both ends, events on against off.
//  4. New process latency (events on): from just before starting a short
//     process to the first state received on NATS that holds its pid.
//
// The agent runs four times (events on, then off; each first with the
// idle min-lifetime for the idle window, then with min-lifetime 0 for the
// latency and churn), each with the embedded NATS server on a free port
// and interval -interval, the quiet load present throughout. Every child
// is in its own process group and killed when the program exits. The
// agents' configs and logs are kept when a measurement fails, or always
// with REALHOST_KEEP set.
//
//	cd bench && go run ./cmd/realhost -proctag ../bin/proctag
//	cd bench && go run ./cmd/realhost -proctag ../bin/proctag -quick
package main
