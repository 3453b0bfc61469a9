#!/usr/bin/env bash
# boot-test.sh [-j N] SCENARIO.scn...
# Runs boot scenarios and prints one "PASS: boot:NAME" or "FAIL: boot:NAME"
# line each (with the serial log's tail on failure), then "N passed, N failed".
#
# A scenario is a bash fragment (tests/boot/*.scn) that sets:
#   desc="..."             what it shows
#   emulator=qemu|bochs    QEMU/OVMF/UEFI loader (SVM) or Bochs/GRUB (VMX)
#   cfg='...'              the hypervisor command line (becomes hv.cfg)
#   modules="guest.elf"    files from build/ to pass as modules
#   timeout=60             seconds before the run counts as hung
#   result=PASS            or result='FAIL <regex>': the HV RESULT line
#   must=( 'regex' ... )   extended regexes that must appear in the log
#   must_not=( 'regex' )   ... and that must not
# optional:
#   hv_elf=missing|bad-magic|segment-outside-ram|truncated  (UEFI path)
#   hv_build=bench         boot build/bench/hv.elf, the instrumented
#                          build of make bench (hv/bench.h)
#   icount=1               QEMU with -icount shift=0: the TSC counts
#                          instructions
#   qemu_mem=512M  bochs_megs=256  qemu_args=(...)
#   interleaved=(vm0 vm1)  these VMs ran side by side: each one's output
#                          starts before the other's ends
#   loader_fails=1         the UEFI loader, not the hypervisor, reports the
#                          failure: it returns to the firmware, so the
#                          emulator is stopped once the result line is seen
#   check_log() { ... }    a check regexes cannot make (say, comparing two
#                          counts): called with the log's path, it prints
#                          why and returns non-zero when the scenario fails
#
# Every scenario must end with exactly one HV RESULT line and, unless the
# loader failed, the emulator must stop by itself (the hypervisor's exit
# path is part of what is tested).  Logs stay in build/boot-tests/NAME/.
#
# No emulator outlives the runner: killed (a caller's timeout, Ctrl-C), it
# ends every scenario still running, and each scenario ends its run script,
# which ends its emulator (run-qemu.sh, run-bochs.sh).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
jobs=2
case ${1:-} in
-j) jobs=${2:-}; shift 2 ;;
-j*) jobs=${1#-j}; shift ;;
esac
case $jobs in
'' | *[!0-9]* | 0) echo "boot-test.sh: -j wants a number of jobs, not '$jobs'" >&2; exit 2 ;;
esac
for scn in "$@"; do
	case $scn in
	-*) echo "boot-test.sh: unknown option '$scn' (usage: boot-test.sh [-j N] SCENARIO.scn...)" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: boot-test.sh [-j N] SCENARIO.scn..." >&2; exit 2; }

# Runs one scenario; writes its report to $dir/report and returns 0 on PASS.
run_one() {
	local scn=$1 name dir
	name=$(basename "$scn" .scn)
	dir=$build/boot-tests/$name
	rm -rf "$dir"
	mkdir -p "$dir"

	local desc="" emulator=qemu cfg="" modules="guest.elf" timeout=60
	local result=PASS hv_elf="" qemu_mem=512M bochs_megs=256 loader_fails=0
	local hv_build="" icount=0
	local -a must=() must_not=() qemu_args=() interleaved=()
	# shellcheck disable=SC1090
	source "$scn"

	exec 3> "$dir/report"
	fail() {
		echo "FAIL: boot:$name ($emulator): $*" >&3
		echo "  scenario: $desc" >&3
		echo "  serial log: $dir/serial.txt; last lines:" >&3
		tail -n 25 "$dir/serial.txt" 2>/dev/null | sed 's/^/  | /' >&3
		exec 3>&-
		return 1
	}

	printf '%s\n' "$cfg" > "$dir/hv.cfg"
	local -a mods=()
	for m in $modules; do
		mods+=("$build/$m")
	done
	local hv=$build/hv.elf
	case $hv_build in
	"") ;;
	bench) hv=$build/bench/hv.elf ;;
	*) fail "hv_build=$hv_build: not a build (bench)"; return 1 ;;
	esac
	case $hv_elf in
	"") ;;
	missing) hv=- ;;
	*)
		"$top/scripts/elf-corrupt.sh" "$build/hv.elf" "$dir/hv.elf" "$hv_elf" ||
			{ fail "cannot make a $hv_elf hv.elf"; return 1; }
		hv=$dir/hv.elf
		;;
	esac

	local start=$SECONDS pid status
	: > "$dir/serial.log"
	if [ "$emulator" = qemu ]; then
		"$top/scripts/mkesp.sh" "$dir/esp.img" "$build/BOOTX64.EFI" "$hv" \
			"$dir/hv.cfg" "${mods[@]}" > "$dir/build.log" 2>&1 ||
			{ fail "cannot build the ESP image"; return 1; }
		MEM=$qemu_mem SERIAL=$dir/serial.log ICOUNT=$icount \
			"$top/scripts/run-qemu.sh" "$dir/esp.img" "${qemu_args[@]}" \
			> "$dir/emulator.log" 2>&1 &
	else
		"$top/scripts/mkiso.sh" "$dir/memvisor.iso" "$hv" "$dir/hv.cfg" \
			"${mods[@]}" > "$dir/build.log" 2>&1 ||
			{ fail "cannot build the ISO"; return 1; }
		MEGS=$bochs_megs SERIAL=$dir/serial.log BOCHS_LOG=$dir/bochs.log \
			"$top/scripts/run-bochs.sh" "$dir/memvisor.iso" \
			> "$dir/emulator.log" 2>&1 &
	fi
	pid=$!
	trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 143' TERM INT HUP

	# Wait for the result line, the emulator's end, or the timeout.
	local seen=0 self_exit=0
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			self_exit=1
			break
		fi
		if grep -aq 'HV RESULT:' "$dir/serial.log"; then
			seen=1
			break
		fi
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			break
		fi
		sleep 0.2
	done
	# After the result line a hypervisor exit must end the emulator by
	# itself within a few seconds; a loader failure never does.
	if [ "$seen" = 1 ] && [ "$self_exit" = 0 ]; then
		for _ in $(seq 1 $((loader_fails ? 5 : 50))); do
			kill -0 "$pid" 2>/dev/null || { self_exit=1; break; }
			sleep 0.1
		done
	fi
	kill "$pid" 2>/dev/null	# the script ends its emulator, and waits
	wait "$pid" 2>/dev/null
	status=$?
	trap - TERM INT HUP

	# The log as text: no CRs, no terminal escape sequences from OVMF.
	# After a loader failure the firmware goes on to its next boot option
	# (OVMF may even start our loader again): the run ends at the first
	# result line, so the rest is cut off.
	sed -e 's/\r//g' -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' "$dir/serial.log" |
		if [ "$loader_fails" = 1 ]; then sed -e '/^HV RESULT:/q'; else cat; fi \
		> "$dir/serial.txt"
	local log=$dir/serial.txt elapsed=$((SECONDS - start))

	local results
	results=$(grep -ac '^HV RESULT:' "$log")
	if [ "$results" = 0 ]; then
		if [ $elapsed -ge "$timeout" ]; then
			fail "no HV RESULT line within ${timeout}s (hang?)"
		else
			fail "the emulator ended without an HV RESULT line (status $status)"
		fi
		return 1
	fi
	[ "$results" = 1 ] || { fail "$results HV RESULT lines, want exactly one"; return 1; }
	local line
	line=$(grep -a '^HV RESULT:' "$log")
	if ! grep -Eq "^HV RESULT: ${result}\$" <<< "$line"; then
		fail "got '$line', want 'HV RESULT: $result'"
		return 1
	fi
	if [ "$loader_fails" = 0 ]; then
		[ "$self_exit" = 1 ] || { fail "the emulator did not stop after the result line"; return 1; }
		[ "$(grep -av '^[[:space:]]*$' "$log" | tail -n 1)" = "$line" ] ||
			{ fail "output after the HV RESULT line"; return 1; }
		if [ "$emulator" = qemu ]; then
			local want=0
			[[ $result == FAIL* ]] && want=1
			[ "$status" = "$want" ] ||
				{ fail "run-qemu.sh exit status $status, want $want"; return 1; }
		fi
	fi
	local re
	for re in "${must[@]}"; do
		grep -aEq -- "$re" "$log" || { fail "missing: $re"; return 1; }
	done
	for re in "${must_not[@]}"; do
		grep -aEq -- "$re" "$log" && { fail "unexpected: $re"; return 1; }
	done
	if declare -F check_log > /dev/null; then
		local why
		why=$(check_log "$log") || { fail "check_log: $why"; return 1; }
	fi
	local x y
	for x in "${interleaved[@]}"; do
		for y in "${interleaved[@]}"; do
			[ "$x" = "$y" ] && continue
			# first line of x before the last line of y
			local fx ly
			fx=$(grep -an "^\[$x\] " "$log" | head -n 1 | cut -d: -f1)
			ly=$(grep -an "^\[$y\] " "$log" | tail -n 1 | cut -d: -f1)
			if [ -z "$fx" ] || [ -z "$ly" ] || [ "$fx" -gt "$ly" ]; then
				fail "[$x] output does not start before [$y] output ends: they did not run side by side"
				return 1
			fi
		done
	done
	echo "PASS: boot:$name ($emulator, ${elapsed}s)" >&3
	exec 3>&-
	return 0
}

pass=0 fail=0
running=0
declare -A pids=()
stop_all() {
	local p
	for p in "${!pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait
	exit "$1"
}
trap 'stop_all 143' TERM
trap 'stop_all 130' INT
trap 'stop_all 129' HUP
report() {
	local name=$1
	cat "$build/boot-tests/$name/report"
	if grep -q '^PASS:' "$build/boot-tests/$name/report"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
}
# Reports one finished scenario.  `wait -n -p` can come back without the
# pid of one of ours (a signal, or a job bash reaped already): that is
# not a scenario's end, so it is neither reported nor counted.
reap_one() {
	local done_pid=""
	wait -n -p done_pid
	[ -n "$done_pid" ] && [ -n "${pids[$done_pid]+x}" ] || return 0
	report "${pids[$done_pid]}"
	unset "pids[$done_pid]"
	running=$((running - 1))
}
for scn in "$@"; do
	name=$(basename "$scn" .scn)
	while [ "$running" -ge "$jobs" ]; do
		reap_one
	done
	run_one "$scn" > /dev/null 2>&1 &
	pids[$!]=$name
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	reap_one
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
