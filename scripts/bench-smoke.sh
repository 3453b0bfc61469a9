#!/usr/bin/env bash
# bench-smoke.sh - make test's check of the benchmark build (make bench
# itself is too long for make test, and judges no timing here either):
#   1. the normal hv.elf holds no probe (every bench_ function of
#      hv/bench.h compiles to nothing without -DMV_BENCH), the
#      instrumented build/bench/hv.elf does;
#   2. the [bench] lines of boot scenario uefi-bench-smoke (which booted
#      the instrumented build) go through scripts/bench-report, whose
#      results.json parses and holds the bare exit and a populate.
# One PASS:/FAIL: line per check, then "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
passed=0
failed=0
ok() { echo "PASS: bench-smoke:$1"; passed=$((passed + 1)); }
bad() { echo "FAIL: bench-smoke:$1: $2"; failed=$((failed + 1)); }

probes=$(nm "$build/hv.elf" | grep -c ' bench_')
inst=$(nm "$build/bench/hv.elf" 2>/dev/null | grep -c ' bench_')
if [ "$probes" = 0 ] && [ "${inst:-0}" -gt 0 ]; then
	ok "probes-compiled-out"
else
	bad "probes-compiled-out" "bench_ symbols: $probes in hv.elf (want 0), ${inst:-none} in bench/hv.elf (want some)"
fi

log=$build/boot-tests/uefi-bench-smoke/serial.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ ! -r "$log" ]; then
	bad "report" "no log $log (boot scenario uefi-bench-smoke did not run)"
elif ! msg=$("$top/scripts/bench-report" "$out" "svm:mem:1:$log" 2>&1 > "$out/stdout"); then
	bad "report" "bench-report failed: $msg"
elif ! jq -e '[.[] | select(.kind == "op") | .metric] | index("exit.bare") != null and index("slat.populate") != null' \
	"$out/results.json" > /dev/null; then
	bad "report" "results.json does not parse or lacks exit.bare and slat.populate"
else
	ok "report ($(jq length "$out/results.json") JSON objects)"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
