#!/usr/bin/env bash
# test-all.sh - everything `make test` runs, in order, with one final
# "N passed, N failed" line over all of it:
#   1. host unit tests (build/tests/*)
#   2. scripts/plot-stats on a canned serial log (host only)
#   3. the guest kernel natively under QEMU (no hypervisor)
#   4. boot scenarios on QEMU/OVMF (SVM) and Bochs/GRUB (VMX)
#   5. the same scenario's output on both backends, compared
#   6. a scripted GDB session against QEMU
#   7. docs/guest-abi.md's tables against the code and the scenarios
#   8. no emulator outlives its script when the script is killed
#   9. the benchmark report on canned logs, and on the benchmark build's
#      boot scenario (uefi-bench-smoke)
# (1 runs beside 2, 3, 8 and 9's report test, which come before 4: they
# use one core each.)
# Every check prints one PASS:/FAIL: line; a section that dies without
# saying why counts as a failure of its own.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
cd "$top"
all=$(mktemp)
trap 'rm -f "$all"' EXIT

section() {
	local title=$1
	shift
	echo "== $title"
	local out rc
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL:' "$out"; then
		echo "FAIL: $title: exited with status $rc without a FAIL line" | tee -a "$out"
	fi
	grep -E '^(PASS|FAIL):' "$out" >> "$all"
	rm -f "$out"
}

# The host unit tests (one core, mostly the gmem model test) run beside
# the sections that follow them up to the boot scenarios, which leave a
# core idle; their output is shown as a whole when they are done.
unit_out=$(mktemp)
section "host unit tests" scripts/run-unit.sh "$build"/tests/* > "$unit_out" 2>&1 &
unit_pid=$!
section "memory plot of [stat] lines" scripts/plot-stats-test.sh
section "guest natively under QEMU" scripts/guest-native-test.sh
section "emulators end with their scripts" scripts/emulator-kill-test.sh
section "benchmark report" scripts/bench-report-test.sh
wait "$unit_pid"
cat "$unit_out"
rm -f "$unit_out"
section "boot scenarios" scripts/boot-test.sh -j 2 tests/boot/*.scn
section "same output on SVM and VMX" scripts/compare-logs.sh vm-compare \
	"$build/boot-tests/uefi-vm-compare/serial.txt" \
	"$build/boot-tests/bochs-vm-compare/serial.txt"
section "benchmark build" scripts/bench-smoke.sh
section "GDB session" scripts/gdb-test.sh
section "guest ABI tables" scripts/check-emulates.sh

pass=$(grep -c '^PASS:' "$all")
fail=$(grep -c '^FAIL:' "$all")
echo "=="
grep '^FAIL:' "$all" | sed 's/^/  /'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
