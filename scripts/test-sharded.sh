#!/usr/bin/env bash
# Runs one Go package's tests as SHARDS go test processes side by side, each with a part of
# its top-level tests (Test*, Fuzz* seed corpora, Example*), and fails if any part fails.
#
# Why: the console's package holds a Chromium journey per user journey; one after another
# they outgrow a package's test timeout, yet each spends most of its time waiting for
# events to travel, so three at a time finish in about a third of the time on two cores.
# Each journey starts its own node (database, NATS), so the parts share nothing.
#
# usage: test-sharded.sh SHARDS PACKAGE [go test flags...]   (run inside the module)
set -euo pipefail
shards=$1 pkg=$2
shift 2
GO=${GO:-go}

mapfile -t names < <($GO test -list '.*' "$pkg" | grep -E '^(Test|Fuzz|Example)' || true)
if [ ${#names[@]} -eq 0 ]; then
	exec $GO test "$@" "$pkg"
fi
# The browser journeys are the long ones: deal them out first, then the rest, so that
# every part gets its share of both.
mapfile -t slow < <(printf '%s\n' "${names[@]}" | grep 'InChromium' || true)
mapfile -t quick < <(printf '%s\n' "${names[@]}" | grep -v 'InChromium' || true)
declare -a part
i=0
for n in "${slow[@]}" "${quick[@]}"; do
	[ -n "$n" ] || continue
	part[$((i % shards))]+="${part[$((i % shards))]:+|}$n"
	i=$((i + 1))
done

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pids=()
for s in "${!part[@]}"; do
	$GO test "$@" -run "^(${part[$s]})\$" "$pkg" >"$dir/$s.out" 2>&1 &
	pids+=("$!")
done
rc=0
for s in "${!pids[@]}"; do
	if ! wait "${pids[$s]}"; then rc=1; fi
	echo "-- part $((s + 1)) of ${#pids[@]}: ${part[$s]//|/ }"
	cat "$dir/$s.out"
done
exit $rc
