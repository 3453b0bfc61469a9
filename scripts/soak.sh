#!/usr/bin/env bash
# soak.sh N            runs the default demo (boot/hv.cfg) N times under
#                      QEMU/SVM, each with a random guest seed, time slice
#                      and sharing scan rate, and reports how many passed
# soak.sh --replay SEED SLICE SCAN
#                      runs the demo once with exactly those three values
#
# Every run prints its three values first, so a failure can be replayed.
# A run passes when memvisor ends it with HV RESULT: PASS (run-qemu.sh's
# status 0) within SOAK_TIMEOUT seconds (default 600).  The logs of failed
# runs stay in build/soak/run-K/ (serial.txt, hv.cfg, replay), those of
# passed runs are removed.  Exit status: 0 if every run passed.
#
# Needs a built tree (make): build/hv.elf, build/BOOTX64.EFI and the
# modules boot/hv.cfg names.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
out=$build/soak
timeout_s=${SOAK_TIMEOUT:-600}

usage() {
	echo "usage: soak.sh N | soak.sh --replay SEED SLICE SCAN" >&2
	exit 2
}
number() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# The values a run draws: the guests' seed (both the same, so that their
# dup pages still match), the slice in microseconds and the pages the
# sharing scanner hashes per round, inside the ranges docs/cmdline.md
# allows and around the defaults.
# (In this shell, not a $(...) subshell, so that RANDOM moves on.)
draw() {
	seed=$((RANDOM * 32768 + RANDOM + 1))
	slice=$((1000 + RANDOM % 19001))
	scan=$((16 + RANDOM % 1009))
}

case ${1:-} in
--replay)
	[ $# -eq 4 ] || usage
	number "$2" 1 4294967295 && number "$3" 100 10000000 && number "$4" 1 65536 || {
		echo "soak.sh: --replay wants SEED (1-4294967295), SLICE (100-10000000 us) and SCAN (1-65536)" >&2
		exit 2
	}
	runs=1
	fixed="$2 $3 $4"
	;;
*)
	[ $# -eq 1 ] || usage
	number "$1" 1 100000 || { echo "soak.sh: N must be a number of runs, 1-100000, not '$1'" >&2; exit 2; }
	runs=$1
	fixed=
	;;
esac
for f in hv.elf BOOTX64.EFI guest.elf; do
	[ -r "$build/$f" ] || { echo "soak.sh: $build/$f missing: run make first" >&2; exit 2; }
done
grep -q 'seed=7' "$top/boot/hv.cfg" || {
	echo "soak.sh: boot/hv.cfg has no 'seed=7' to vary: update soak.sh with it" >&2
	exit 2
}

mkdir -p "$out"
passed=0
for k in $(seq 1 "$runs"); do
	if [ -n "$fixed" ]; then
		read -r seed slice scan <<< "$fixed"
	else
		draw
	fi
	dir=$out/run-$k
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "soak: run $k of $runs: seed=$seed slice=$slice share_scan=$scan (replay: scripts/soak.sh --replay $seed $slice $scan)"
	echo "scripts/soak.sh --replay $seed $slice $scan" > "$dir/replay"
	{
		sed "s/seed=7/seed=$seed/g" "$top/boot/hv.cfg"
		echo "slice=$slice share_scan=$scan"
	} > "$dir/hv.cfg"
	if ! "$top/scripts/mkesp.sh" "$dir/esp.img" "$build/BOOTX64.EFI" "$build/hv.elf" \
		"$dir/hv.cfg" "$build/guest.elf" > "$dir/build.log" 2>&1; then
		echo "FAIL: soak:run-$k: cannot build the ESP (see $dir/build.log)"
		continue
	fi
	start=$SECONDS
	SERIAL=$dir/serial.log timeout "$timeout_s" "$top/scripts/run-qemu.sh" "$dir/esp.img" \
		> "$dir/emulator.log" 2>&1
	status=$?
	tr -d '\r' < "$dir/serial.log" > "$dir/serial.txt"
	result=$(grep -a '^HV RESULT:' "$dir/serial.txt" | tail -n 1)
	if [ "$status" = 0 ] && [ "$result" = "HV RESULT: PASS" ]; then
		echo "PASS: soak:run-$k ($((SECONDS - start)) s)"
		passed=$((passed + 1))
		rm -rf "$dir"
	else
		case $status in
		124) why="no result within $timeout_s s" ;;
		*) why=${result:-"no HV RESULT line (run-qemu.sh status $status)"} ;;
		esac
		echo "FAIL: soak:run-$k: $why; log kept in $dir/serial.txt; last lines:"
		tail -n 15 "$dir/serial.txt" | sed 's/^/  | /'
	fi
done
echo "soak: $passed of $runs passed"
[ "$passed" = "$runs" ]
