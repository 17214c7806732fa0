#!/usr/bin/env bash
# Runs every Go fuzz target of the repository, one at a time, for the given
# time each (Go allows one -fuzz target per `go test`):
#
#   .ci/fuzz.sh 3s     # make test: the seeds plus a few seconds of search each
#   .ci/fuzz.sh 60s    # make fuzz (FUZZTIME)
#
# Both modules are covered: the main one at the top and bench/. The targets
# are found with `go test -list '^Fuzz'`, so a new Fuzz function is picked up
# without editing this file. A target that fails leaves the input that broke
# it in its package's testdata/fuzz/FuzzName/<hash>; commit that file with
# the fix and plain `go test` runs it as a regression seed from then on. The
# script goes on with the other targets and fails at the end, naming every
# target that failed.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:?usage: .ci/fuzz.sh DURATION (e.g. 3s, 60s, 1000x)}"
go="${GO:-go}"

failed=()
total=0
flaked=0
start=$SECONDS
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# targets MODULE_DIR prints "package target" for every fuzz target of the
# module in MODULE_DIR, in package order.
targets() {
	(cd "$1" && "$go" test -list '^Fuzz' ./...) | awk '
		/^Fuzz/ { names[n++] = $1; next }
		/^ok[ \t]/ { for (i = 0; i < n; i++) print $2, names[i]; n = 0; next }
		/^(FAIL|---)/ { print "fuzz.sh: go test -list: " $0 > "/dev/stderr"; bad = 1 }
		END { exit bad }'
}

for module in . bench; do
	list="$(targets "$module")" || { echo "fuzz.sh: cannot list the fuzz targets of $module" >&2; exit 1; }
	if [ -z "$list" ]; then
		echo "fuzz.sh: no fuzz targets in $module" >&2
		exit 1
	fi
	while read -r pkg name; do
		total=$((total + 1))
		echo "fuzz: $pkg $name ($fuzztime)"
		dir="$(cd "$module" && "$go" list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name"
		before="$(ls "$dir" 2>/dev/null || true)"
		if (cd "$module" && "$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" </dev/null) 2>&1 | tee "$out"; then
			continue
		fi
		# Go before 1.27 may fail a duration-bound run at its very end with
		# a bare "context deadline exceeded" and no input
		# (https://go.dev/issue/75804). A real failure always writes its
		# input to testdata/fuzz, so only that race, with no new file, is
		# let through.
		if [ "$(ls "$dir" 2>/dev/null || true)" = "$before" ] &&
			grep -qx '[[:space:]]*context deadline exceeded' "$out" &&
			[ "$(grep -c -- '^--- FAIL' "$out")" = 1 ]; then
			echo "fuzz: $name stopped by the fuzztime race of go.dev/issue/75804, no failing input: not a failure"
			flaked=$((flaked + 1))
			continue
		fi
		failed+=("$pkg $name")
	done <<<"$list"
done

echo "fuzz: $total targets, $fuzztime each, in $((SECONDS - start))s ($flaked stopped by go.dev/issue/75804)"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} failed (the inputs are in each package's testdata/fuzz/; fix, then commit them):" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
