package hostile

import (
	"testing"
	"time"
)

// attacks is the suite: every row is one attack run by `proctag scan`. The
// module is testdata/NAME.wat unless wat or gen says otherwise; its header
// says what it does and what must happen. reasons are the fault kinds (or
// phrases) the agent's log must give with the plugin's name.
var attacks = []attack{
	// CPU: code that never ends, or ends too late.
	{name: "loop-process", reasons: []string{"timeout"}},
	{name: "loop-batch", configured: true, reasons: []string{"timeout"}},
	{name: "loop-initialize", configured: true, reasons: []string{"init"}},
	{name: "loop-init", reasons: []string{"init"}},
	{name: "loop-alloc", reasons: []string{"timeout"}},
	{name: "loop-abi-version", configured: true, reasons: []string{"init|timeout"}},
	{name: "exprec-process", configured: true, reasons: []string{"timeout"}},
	{name: "exprec-init", reasons: []string{"init"}},
	{name: "exprec-initialize", configured: true, reasons: []string{"init"}},
	{name: "exprec-alloc", reasons: []string{"timeout"}},
	{name: "mutual-recursion", configured: true, reasons: []string{"timeout"}},
	{name: "indirect-recursion", reasons: []string{"timeout"}},
	{name: "stack-overflow", configured: true, reasons: []string{"memory"}},
	{name: "fat-frames", gen: genFatFrames, reasons: []string{"memory"}},
	{name: "slow-finite", configured: true, reasons: []string{"timeout"}},
	{name: "slow-straight", gen: genSlowStraight, memoryLimit: 32 * mib, reasons: []string{"timeout"}},
	{name: "start-loop", reasons: []string{"init"}},
	{name: "start-section", configured: true, reasons: []string{"timeout"}},
	{name: "simd-exprec", reasons: []string{"timeout"}},
	{name: "tail-call-spin", configured: true, reasons: []string{"load"}},
	{name: "atomic-wait", reasons: []string{"load"}},
	{name: "poll-sleep", configured: true, reasons: []string{"poll_oneoff returned"}},
	{name: "sched-yield-loop", reasons: []string{"timeout"}},
	{name: "just-under-timeout", configured: true, victims: 100, reasons: []string{"counting"}},

	// Memory: linear memory, tables, stacks and outputs past the cap.
	{name: "grow-loop", configured: true, reasons: []string{"memory|timeout"}},
	{name: "grow-4gib", reasons: []string{"memory"}},
	{name: "grow-init", configured: true, reasons: []string{"memory"}},
	{name: "initial-memory", reasons: []string{"memory"}},
	{name: "table-huge", configured: true, reasons: []string{"load"}},
	{name: "table-grow-loop", reasons: []string{"memory|timeout"}},
	{name: "recycle-grow", configured: true, victims: 20, reasons: []string{"recycler ready"}},
	{name: "batch-4mib", victims: 70, reasons: []string{"bad_output|grant"}},
	{name: "batch-tags-max", configured: true, victims: 24, reasons: []string{"bad_output|grant"}},
	{name: "batch-dup-flood", victims: 24, reasons: []string{"bad_output|grant"}},
	{name: "tags-100k", configured: true, victims: 24, reasons: []string{"bad_output|grant"}},
	{name: "out-ptr-oob", reasons: []string{"bad_output"}},
	{name: "out-len-max", configured: true, reasons: []string{"bad_output"}},
	{name: "error-code", reasons: []string{"bad_output"}},
	{name: "alloc-zero", configured: true, reasons: []string{"alloc"}},
	{name: "alloc-oob", reasons: []string{"alloc"}},
	{name: "log-huge-len", configured: true, reasons: []string{"bad_output"}},
	{name: "log-oob-ptr", reasons: []string{"bad_output"}},
	{name: "stdout-flood", configured: true, reasons: []string{"stdout"}},
	{name: "log-flood", reasons: []string{"flood one"}},

	// Output outside the grant.
	{name: "tag-outside-prefix", configured: true, reasons: []string{"grant"}},
	{name: "rename-no-cap", reasons: []string{"grant"}},
	{name: "drop-no-cap", configured: true, reasons: []string{"grant"}},
	{name: "bad-utf8", reasons: []string{"grant"}},
	{name: "control-chars", configured: true, reasons: []string{"grant"}},
	{name: "tag-key-colon", reasons: []string{"grant"}},
	{name: "remove-foreign-tag", reasons: []string{"grant"}},
	{name: "batch-index-range", configured: true, reasons: []string{"bad_output"}},
	{name: "batch-index-dup", reasons: []string{"bad_output|grant"}},

	// WASI and imports: the sandbox's doors.
	{name: "wasi-path-open", configured: true, reasons: []string{"path_open refused"}},
	{name: "wasi-random-huge", reasons: []string{"random_get returned"}},
	{name: "wasi-proc-exit", configured: true, reasons: []string{"trap"}},
	{name: "wasi-fd99", reasons: []string{"fd_write returned"}},
	{name: "wasi-args", configured: true, reasons: []string{"args probe ran"}},
	{name: "wasi-environ", reasons: []string{"environ probe ran"}},
	{name: "wasi-stdin-read", configured: true, reasons: []string{"fd_read returned"}},
	{name: "wasi-stdin-poll", reasons: []string{"poll_oneoff returned"}},
	{name: "import-unknown", configured: true, reasons: []string{"load", "env.foo"}},
	{name: "import-proctag-unknown", reasons: []string{"load", "proctag_v1.exec"}},
	{name: "import-memory", configured: true, reasons: []string{"load"}},
	{name: "import-table", reasons: []string{"load"}},
	{name: "import-global", configured: true, reasons: []string{"load"}},
	{name: "data-oob", reasons: []string{"init"}},

	// Module structure: bombs for the validator, compiler and rewriter.
	{name: "nest-150k", gen: genNested, configured: true, reasons: []string{"load", "nesting"}},
	{name: "funcs-100k", gen: genManyFuncs, reasons: []string{"load"}},
	{name: "body-2mib", gen: genHugeBody, configured: true, reasons: []string{"load"}},
	{name: "locals-1m", gen: genManyLocals, reasons: []string{"load"}},
	{name: "corrupt", gen: genCorrupt, configured: true, reasons: []string{"load"}},
	{name: "export-stop", reasons: []string{"load", "__proctag_stop"}},

	// Module structure within every plugin-limits limit: the dimensions
	// the limits do not name.
	{name: "many-tables", gen: genManyTables, configured: true, reasons: []string{"load|memory"}},
	{name: "elem-bomb", gen: genElemBomb, reasons: []string{"load|memory"}},
	{name: "many-globals", gen: genManyGlobals, configured: true, reasons: []string{"load"}},
	{name: "many-types", gen: genManyTypes, reasons: []string{"load"}},
	{name: "many-exports", gen: genManyExports, configured: true, reasons: []string{"load"}},
	{name: "custom-huge", gen: genCustomHuge, reasons: []string{"plugin loaded|load"}},
	{name: "name-bomb", gen: genNameBomb, configured: true, reasons: []string{"load"}},
	{name: "trap-long-names", gen: genTrapLongNames, reasons: []string{"trap"}},
	{name: "bodies-at-limit", gen: genBodiesAtLimit, configured: true, reasons: []string{"load"}},
	{name: "funcs-at-limit", gen: genFuncsAtLimit, reasons: []string{"plugin loaded|load"}},
	{name: "phi-bomb", gen: genPhiBomb, configured: true, reasons: []string{"plugin loaded|load"}},
	{name: "phi-many", gen: genPhiMany, reasons: []string{"plugin loaded|load"}},
	{name: "br-table-bomb", gen: genBrTableBomb, reasons: []string{"plugin loaded|load"}},
	{name: "initialize-bad-sig", configured: true, reasons: []string{"load|init"}},

	// plugin-dir entries and manifests.
	{name: "x", gen: genSparse, reasons: []string{"load", "over the limit"}},
	{name: "y", gen: genFIFO, reasons: []string{"load", "not a regular file"}},
	{name: "outside-link", gen: genSymlink, reasons: []string{"load", "symlink"}},
	{name: "big-manifest", timeout: "10s", memoryLimit: 4 * gib, rssMemory: 1 * mib,
		reasons: []string{"plugin loaded"}, wantEvil: map[string]string{"evil.big": "1"}},

	// Scope: a plugin must not see what it is not scoped to.
	{name: "scope-uids", configured: true, extra: map[string]any{"scope": map[string]any{"uids": []int{12345}}},
		reasons: []string{"plugin loaded"}},
}

// TestAttacks runs every attack with the real agent and checks that it
// ended contained (see checkContained). Its log has one "result:" line per
// attack with the wall time and peak RSS.
func TestAttacks(t *testing.T) {
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			acquire(t)
			pid := startVictims(t, 1+a.victims)
			cfg := a.install(t, nil)
			res, err := scan(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("result: wall=%v rss=%dMiB bound=%dMiB exit=%d timed_out=%v",
				res.wall.Round(time.Millisecond), res.rss>>20, a.rssBound()>>20, res.exit, res.timedOut)
			for _, r := range pluginRecords(res.stderr, a.name, 3) {
				t.Logf("log: %s", r)
			}
			checkContained(t, &a, pid, &res)
		})
	}
}
