#!/usr/bin/env bash
# bench.sh [NAME...] - make bench: boots the benchmark scenarios, then
# prints what every exit and memory mechanism costs (scripts/bench-report)
# and writes build/bench/results.json and build/bench/bench.png.
#
# NAMEs are the scenarios of tests/bench (file names without .scn) and
# `native-32M`, the guest alone under QEMU; none means all of them.  The
# scenarios boot build/bench/hv.elf, the build with hv/bench.h's probes:
#   qemu-*   QEMU TCG with SVM+NPT and -icount shift=0 (the TSC counts
#            instructions); qemu-mem-* and qemu-swap-* at three sizes
#   bochs-*  Bochs with VMX+EPT (clock: sync=none: deterministic too)
#   qemu-overhead-32M        touch+verify of 32 MiB, instrumented
#   qemu-overhead-plain-32M  the same on the normal build: the guest's own
#                            count, beside the instrumented one, says what
#                            the probes cost and, beside native-32M's,
#                            what memvisor costs the guest in all
#   *-paging-slat-*, *-paging-shadow-*  one workload with EPT/NPT and
#                            with shadow paging (scripts/bench-paging)
#   qemu-paging-flush-16M, qemu-paging-rmap-16M  a shadow VM under swap
#                            pressure without and with the reverse map
#
# An unknown name, or any run that fails (its log's tail is printed), ends
# with status 1 and no table.  Figures are instruction counts in an
# emulator, not cycles on silicon (README, "Performance").
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
out=$build/bench
me=bench.sh
QEMU=${QEMU:-qemu-system-x86_64}

mapfile -t all < <(cd "$top/tests/bench" && ls ./*.scn | sed 's|^\./||; s|\.scn$||')
all+=(native-32M)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for n in "${names[@]}"; do
	printf '%s\n' "${all[@]}" | grep -qxF -- "$n" || {
		echo "$me: no benchmark '$n'; there are: ${all[*]}" >&2
		exit 1
	}
done

# The guest alone: QEMU -kernel (multiboot), -icount shift=0, the
# overhead scenarios' workload.  Its log as LOG; status 0 on a pass.
native_run() {
	local log=$1 status
	mkdir -p "$(dirname "$log")"
	timeout 300 "$QEMU" -kernel "$build/guest.elf" \
		-append "work=touch,verify touch=32M seed=3" -icount shift=0 \
		-m 128M -display none -serial "file:$log" -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		< /dev/null > "$log.qemu.txt" 2>&1
	status=$?
	# isa-debug-exit: the guest's status 0 (PASS) is QEMU's 1.
	if [ "$status" != 1 ] || ! grep -aq 'GUEST RESULT: PASS' "$log"; then
		echo "FAIL: bench:native-32M (QEMU status $status); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/  | /'
		return 1
	fi
	echo "PASS: bench:native-32M"
}

scns=()
native=0
for n in "${names[@]}"; do
	if [ "$n" = native-32M ]; then native=1; else scns+=("$top/tests/bench/$n.scn"); fi
done

rm -rf "$out/results.json" "$out/bench.png"
fail=0
if [ ${#scns[@]} -gt 0 ]; then
	BUILD=$build "$top/scripts/boot-test.sh" -j 2 "${scns[@]}" || fail=1
fi
if [ "$native" = 1 ]; then
	native_run "$out/native-32M/serial.txt" || fail=1
fi
[ "$fail" = 0 ] || { echo "$me: a benchmark run failed (above): no figures" >&2; exit 1; }

# BACKEND:BENCH:SIZE:LOG for the report.
runs=()
for n in "${names[@]}"; do
	case $n in
	native-*) backend=native bench=overhead log=$out/$n/serial.txt ;;
	qemu-overhead-plain-*) continue ;;	# the guest's count only, below
	*-paging-*) continue ;;		# scripts/bench-paging, below
	qemu-*) backend=svm ;;
	bochs-*) backend=vmx ;;
	*) echo "$me: cannot tell the backend of '$n'" >&2; exit 1 ;;
	esac
	if [ "$backend" != native ]; then
		bench=${n#*-}
		bench=${bench%-*}
		log=$build/boot-tests/$n/serial.txt
	fi
	size=${n##*-}
	runs+=("$backend:$bench:${size%M}:$log")
done
if [ ${#runs[@]} -gt 0 ]; then
	"$top/scripts/bench-report" "$out" "${runs[@]}" || exit 1
else
	mkdir -p "$out" && echo '[]' > "$out/results.json"
fi

# EPT/NPT against shadow paging: each backend's pair of runs.
pairs=()
for b in qemu:svm bochs:vmx; do
	e=${b%%:*}
	for n in "${names[@]}"; do
		case $n in
		"$e"-paging-slat-*) other=${n/-paging-slat-/-paging-shadow-} ;;
		"$e"-paging-flush-*) other=${n/-paging-flush-/-paging-rmap-} ;;
		*) continue ;;
		esac
		printf '%s\n' "${names[@]}" | grep -qxF -- "$other" || continue
		pairs+=("${b#*:}:$build/boot-tests/$n/serial.txt:$build/boot-tests/$other/serial.txt")
	done
done
if [ ${#pairs[@]} -gt 0 ]; then
	echo
	"$top/scripts/bench-paging" "$out" "${pairs[@]}" || exit 1
fi

# What the probes cost: the guest's own count of the same workload on
# the normal build and on the instrumented one.
plain=$build/boot-tests/qemu-overhead-plain-32M/serial.txt
inst=$build/boot-tests/qemu-overhead-32M/serial.txt
ticks() { sed -nE 's/^(\[vm0\] )?work: ([0-9]+) TSC ticks.*/\2/p' "$1" | head -n 1; }
if [ -r "$plain" ] && [ -r "$inst" ] && printf '%s\n' "${names[@]}" | grep -qx qemu-overhead-plain-32M; then
	p=$(ticks "$plain") i=$(ticks "$inst")
	n=
	[ -r "$out/native-32M/serial.txt" ] && n=$(ticks "$out/native-32M/serial.txt")
	echo
	echo "whole run, normal build (no probes), 32 MiB touch+verify: ${p} instructions" \
		"${n:+(native $n: $(awk -v a="$p" -v b="$n" 'BEGIN { printf "%.2fx", a / b }'))}"
	echo "the probes of the instrumented build: ${i} against ${p}:" \
		"$(awk -v a="$i" -v b="$p" 'BEGIN { printf "%+.2f%%", (a - b) * 100 / b }')"
	jq --argjson plain "$p" --argjson inst "$i" --argjson native "${n:-null}" \
		'. + [{kind: "probe-cost", backend: "svm", size_mib: 32, plain: $plain,
		       instrumented: $inst, native: $native,
		       probe_pct: (($inst - $plain) * 100 / $plain)}]' \
		"$out/results.json" > "$out/results.json.tmp" &&
		mv "$out/results.json.tmp" "$out/results.json"
fi
echo
echo "$me: build/bench/results.json and build/bench/bench.png written"
