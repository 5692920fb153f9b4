#!/usr/bin/env bash
# Runs every Go native fuzz target (func FuzzXxx in a _test.go) of every module in go.work,
# each alone for FUZZTIME (default 30s), and fails if any of them finds a crash.
#
# Each package is compiled once with fuzzing instrumentation (go test -c -fuzz) and its
# binary run once per target from the package's directory, so that the seed corpus in
# testdata/fuzz/FuzzXxx is read and a crashing input is written there: committed, it becomes
# a regular test case that `go test` replays. FUZZ_MATCH limits the run to targets whose
# name matches a regular expression (for example FUZZ_MATCH=DecodeJSON).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
FUZZ_MATCH=${FUZZ_MATCH:-.}
cache=$($GO env GOCACHE)/fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
ran=0
for mod in $($GO list -m -f '{{.Dir}}'); do
	# The module's own package directories (go list leaves nested modules out).
	while read -r pkgdir importpath; do
		ls "$pkgdir"/*_test.go >/dev/null 2>&1 || continue
		targets=$(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' "$pkgdir"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u |
			grep -E "$FUZZ_MATCH" || true)
		[ -z "$targets" ] && continue
		bin="$work/$(echo "$importpath" | tr '/' '_').test"
		echo "== $importpath"
		if ! (cd "$pkgdir" && $GO test -c -fuzz=. -o "$bin" . </dev/null); then
			failed+=("$importpath (does not compile)")
			continue
		fi
		for target in $targets; do
			echo "-- $target ($FUZZTIME)"
			ran=$((ran + 1))
			# -test.fuzzcachedir is where `go test -fuzz` keeps generated inputs; the
			# binary run directly needs it spelled out.
			# Go's fuzzing engine can stop at the end of -fuzztime with a bare "context
			# deadline exceeded" and no failing input (a race in the toolchain, go.dev/issue/75804):
			# that is no crash of ours, so such a run is tried again, up to three times. A real
			# crash writes its input to testdata/fuzz and fails at once.
			for try in 1 2 3; do
				log="$work/$target.log"
				if (cd "$pkgdir" && "$bin" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$FUZZTIME" \
					-test.fuzzcachedir "$cache/$importpath" </dev/null 2>&1) | tee "$log"; [ "${PIPESTATUS[0]}" = 0 ]; then
					break
				fi
				if grep -q "context deadline exceeded" "$log" && ! grep -qE "Failing input written|panic:|fuzz_test.go:[0-9]+" "$log" && [ "$try" -lt 3 ]; then
					echo "-- $target: the fuzzing engine stopped without a failing input (toolchain race); again"
					continue
				fi
				failed+=("$importpath $target (crasher in ${pkgdir#"$PWD"/}/testdata/fuzz/$target)")
				break
			done
		done
	done < <(cd "$mod" && $GO list -f '{{.Dir}} {{.ImportPath}}' ./...)
done

echo "fuzz: ran $ran targets for $FUZZTIME each"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
	exit 1
fi
