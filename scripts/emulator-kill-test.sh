#!/usr/bin/env bash
# emulator-kill-test.sh - no emulator outlives the script that started it.
#
# Starts run-qemu.sh and run-bochs.sh on a run that never ends by itself (a
# guest spinning with the watchdog off), waits until the emulator runs,
# kills the script alone (SIGTERM, as a caller's timeout does; SIGINT, as
# Ctrl-C does), and checks that every process the script had started is
# gone.  Then the same for boot-test.sh running such a scenario.  Processes
# are found and checked by PID, as descendants of the script: other runs
# on this machine have emulators of their own.
#
# One PASS:/FAIL: line per case, then "N passed, N failed".
set -uo pipefail
# Job control: background jobs get their own process group and keep
# SIGINT (a non-interactive shell would start them with SIGINT ignored).
set -m
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
dir=$build/kill-test
rm -rf "$dir"
mkdir -p "$dir"
passed=0 failed=0

printf '%s\n' 'watchdog=0 vm=guest.elf,mem=8M,args="hostile=spin"' > "$dir/hv.cfg"
"$top/scripts/mkesp.sh" "$dir/esp.img" "$build/BOOTX64.EFI" "$build/hv.elf" \
	"$dir/hv.cfg" "$build/guest.elf" > "$dir/build.log" 2>&1 &&
	"$top/scripts/mkiso.sh" "$dir/memvisor.iso" "$build/hv.elf" \
		"$dir/hv.cfg" "$build/guest.elf" >> "$dir/build.log" 2>&1 ||
	{ echo "FAIL: kill:setup (see $dir/build.log)"; echo "0 passed, 1 failed"; exit 1; }

descendants() {	# PID: every live process below it
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# is_emulator PID: the process runs QEMU or Bochs.
is_emulator() {
	case $(cat "/proc/$1/comm" 2>/dev/null) in
	qemu-system-*|bochs*) return 0 ;;
	esac
	return 1
}

# case NAME SIGNAL COMMAND...: runs COMMAND in the background, waits (up to
# 60 s) until an emulator runs below it and a second more, sends
# SIGNAL to the command's own PID only, and checks (up to 10 s) that the
# command and every process below it have ended.
kill_case() {
	local name=$1 sig=$2
	shift 2
	"$@" > "$dir/$name.out" 2>&1 &
	local pid=$! emu="" p t
	for t in $(seq 1 300); do
		for p in $(descendants "$pid"); do
			is_emulator "$p" && emu=$p
		done
		[ -n "$emu" ] && break
		sleep 0.2
	done
	if [ -z "$emu" ]; then
		echo "FAIL: kill:$name (no emulator started within 60 s; see $dir/$name.out)"
		kill -KILL "$pid" 2>/dev/null
		failed=$((failed + 1))
		return
	fi
	sleep 1
	local all
	all="$pid $(descendants "$pid" | tr '\n' ' ')"
	kill "-$sig" "$pid"
	local left=""
	for t in $(seq 1 50); do
		left=""
		for p in $all; do
			# A zombie is gone for this purpose: it runs nothing.
			if kill -0 "$p" 2>/dev/null &&
				[ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; then
				left="$left $p"
			fi
		done
		[ -z "$left" ] && break
		sleep 0.2
	done
	if [ -z "$left" ]; then
		echo "PASS: kill:$name (SIG$sig to PID $pid; emulator PID $emu gone with it)"
		passed=$((passed + 1))
	else
		echo "FAIL: kill:$name (SIG$sig to PID $pid; still running 10 s later:$left)"
		for p in $left; do
			ps -o pid=,comm= -p "$p" | sed 's/^/  | /'
		done
		# The emulators first: a script may be waiting for one.
		for p in $left; do
			is_emulator "$p" && kill -KILL "$p" 2>/dev/null
		done
		for p in $left; do
			kill -KILL "$p" 2>/dev/null
		done
		failed=$((failed + 1))
	fi
	wait "$pid" 2>/dev/null
}

kill_case run-qemu-term TERM env SERIAL="$dir/qemu-term.log" \
	"$top/scripts/run-qemu.sh" "$dir/esp.img"
kill_case run-qemu-int INT env SERIAL="$dir/qemu-int.log" \
	"$top/scripts/run-qemu.sh" "$dir/esp.img"
kill_case run-bochs-term TERM env SERIAL="$dir/bochs-term.log" MEGS=64 \
	"$top/scripts/run-bochs.sh" "$dir/memvisor.iso"
kill_case run-bochs-int INT env SERIAL="$dir/bochs-int.log" MEGS=64 \
	"$top/scripts/run-bochs.sh" "$dir/memvisor.iso"

# boot-test.sh on a scenario that would run for ten minutes.
cat > "$dir/kill-forever.scn" <<'EOF'
desc="a run that never ends by itself: the guest spins and the watchdog is off"
emulator=bochs
bochs_megs=64
cfg='watchdog=0 vm=guest.elf,mem=8M,args="hostile=spin"'
timeout=600
EOF
kill_case boot-test-term TERM "$top/scripts/boot-test.sh" -j 1 "$dir/kill-forever.scn"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
