// Package bench compares a proctag tick with the naive use of
// github.com/prometheus/procfs on a generated host of 10,000 processes and
// about 100,000 sockets (fakeproc.Generate(10000, 100000, 1)), written to a
// temporary directory once per test binary.
//
// It is a separate module so that baseline libraries never enter the main
// go.mod. Its module path sits under agent/internal so that it may import
// the agent's internal packages (scan, sockets, fakeproc); the replace
// directive points at the repository root.
//
//	cd bench && go test -run '^$' -bench . -benchmem -benchtime 3x | go run ./cmd/ratios
//
// The benchmarks:
//
//   - BenchmarkColdScan: a new scan.Scanner and sockets.Collector, one full
//     scan with the sockets of every user process;
//   - BenchmarkSteadyTick: the same objects on a host where nothing changed
//     (no full re-read);
//   - BenchmarkChurnTick: the same on a copy of the host (seed 2) on which,
//     before each tick, 1 % of the TCP connections were replaced by new
//     ones (new inode and remote port, same holder); only the tick's CPU
//     is counted;
//   - BenchmarkProcfsNaive: procfs AllProcs, then per process Stat, CmdLine,
//     FileDescriptorTargets and Namespaces, plus NetTCP, NetTCP6, NetUDP and
//     NetUDP6 once per network namespace, joined into inode -> pids.
//
// Each reports the process and socket counts as metrics, which cmd/ratios
// uses for per-process numbers.
//
// `make bench` runs these, then the benchmarks of issues 4 and 5 that live
// in the main module (sockets, rules, sandbox, wasmhost, sdk, snapshot, publish),
// appending all to one output that cmd/ratios turns into one report: every
// benchmark, then each issue's targets with value, target and result.
package bench
