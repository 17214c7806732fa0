// Command ratios reads `go test -bench` output on stdin, of the bench
// module and of the main module's packages, and prints every benchmark in
// one table, then the targets of issues 3, 4, 5 and 12 side by side with their
// value, target and result (meets or MISSES), from the table of specs in
// specs.go:
//
//   - issue 3: cold scan at least 2x faster than the naive procfs baseline;
//     steady tick at least 5x faster than the cold scan; allocations per
//     steady tick close to zero per process (at most
//     MaxSteadyAllocsPerProc);
//   - issue 4: at most 5 µs per process per plugin call in a batch through
//     the SDK; at most 20 ms to start an instance from the cache; zero
//     plugin calls on a steady tick; compile cost with and without the
//     cache; memory per instance;
//   - issue 5: a full 10k/100k snapshot published within one tick's CPU
//     budget (the default 10 s interval on 2 cores); a quiet host's tick
//     under 1 KB on the wire; the compressed full snapshot at least 5x
//     smaller than the raw JSON; subscriber apply cost;
//   - the lean agent (rows marked 12): a steady tick on which nothing
//     changed at most 5 % of a cold scan's CPU, one after 1 % of the
//     sockets were replaced at most 10 %; a plugin call in the agent at
//     most 2.5 µs per record (the whole-process rows are cmd/realhost's);
//   - libraries we replaced, against the library (procfs NetTCP).
//
// Lines without a target are shown for the reader. Benchmark names are
// qualified by their package ("sandbox.Compile/no-cache"). The time
// ratios of issue 3 are given twice: on wall time (ns/op) and on the CPU
// time of the benchmark process (cpu-ns/op, reported by the benchmarks),
// which stays meaningful when other work shares the machine. With
// -count > 1 the median of each metric is used. Failed benchmarks and
// packages are listed at the end. With -strict it exits 1 when a target
// is missed, a benchmark it needs is absent or any benchmark failed.
//
//	go test -run '^$' -bench . -benchmem | go run ./cmd/ratios
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	strict := flag.Bool("strict", false, "exit 1 when a target is missed")
	flag.Parse()
	ok, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(2)
	}
	if *strict && !ok {
		os.Exit(1)
	}
}

// run reads benchmark output from in and writes the tables to out. It
// reports whether every target was met.
func run(in io.Reader, out io.Writer) (bool, error) {
	set, err := parse(in)
	if err != nil {
		return false, err
	}
	if len(set.order) == 0 {
		return false, fmt.Errorf("no benchmark results on stdin")
	}
	writeTable(out, set)
	return writeRatios(out, set), nil
}
