// Command ratios reads `go test -bench` output on stdin and prints the
// benchmarks side by side with the ratios issue 3 sets as targets:
//
//   - cold scan at least 2x faster than the naive procfs baseline;
//   - steady tick at least 5x faster than the cold scan;
//   - allocations per steady tick close to zero per process (at most
//     MaxSteadyAllocsPerProc).
//
// The time ratios are given twice: on wall time (ns/op) and on the CPU time
// of the benchmark process (cpu-ns/op, reported by the benchmarks), which
// stays meaningful when other work shares the machine. Every benchmark of
// the input is listed; with -count > 1 the median of each metric is used. With -strict it exits 1 when a target is missed or a
// benchmark it needs is absent.
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
