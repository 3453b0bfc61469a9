#!/usr/bin/env bash
# bench-report-test.sh - scripts/bench-report on a canned log
# (tests/bench/fixtures/vmx-mem-2.txt: the [bench], pool, oracle and guest
# lines of a real Bochs run of tests/bench/bochs-mem-2M.scn), and on bad
# input.  Host only, no emulator.  One PASS:/FAIL: line per check, then
# "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fx=$top/tests/bench/fixtures/vmx-mem-2.txt
rep=$top/scripts/bench-report
passed=0
failed=0
ok() { echo "PASS: bench-report:$1"; passed=$((passed + 1)); }
bad() { echo "FAIL: bench-report:$1: $2"; failed=$((failed + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if "$rep" "$tmp/out" "vmx:mem:2:$fx" > "$tmp/stdout" 2> "$tmp/stderr"; then
	j=$tmp/out/results.json
	# The COW break's ratio is its median over a bare exit plus a copy.
	want=$(awk '/op=slat.cow-break /{for(i=1;i<=NF;i++) if ($i ~ /^median=/) c=substr($i,8)}
		/op=exit.bare /{for(i=1;i<=NF;i++) if ($i ~ /^median=/) b=substr($i,8)}
		/op=page.copy /{for(i=1;i<=NF;i++) if ($i ~ /^median=/) p=substr($i,8)}
		END { printf "%.2f", c / (b + p) }' "$fx")
	got=$(jq -r '.[] | select(.kind == "op" and .metric == "slat.cow-break") | .ratio' "$j")
	[ "$got" = "$want" ] && ok "cow-ratio ($got)" || bad "cow-ratio" "ratio $got, want $want"
	n=$(jq '[.[] | select(.kind == "op")] | length' "$j")
	[ "$n" = "$(grep -c '^\[bench\] op=' "$fx")" ] && ok "one-row-per-op ($n)" || bad "one-row-per-op" "$n rows"
	jq -e '.[] | select(.kind == "sharing") | .saved_2 == 218 and .possible_2 == 239 and .meta_bytes_per_frame == 16' "$j" > /dev/null &&
		ok "sharing" || bad "sharing" "$(jq -c '.[] | select(.kind == "sharing")' "$j")"
	grep -q '^exit.bare ' "$tmp/stdout" && ok "table" || bad "table" "no exit.bare row on stdout"
	[ "$(head -c 4 "$tmp/out/bench.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] && ok "png" || bad "png" "bench.png is not a PNG"
else
	bad "report" "failed: $(cat "$tmp/stderr")"
fi

# Bad input: one line saying what, status 1, no results.json.
refuse() {	# name expected-message-regex args...
	local name=$1 re=$2
	shift 2
	rm -rf "$tmp/bad"
	if "$rep" "$tmp/bad" "$@" > /dev/null 2> "$tmp/err"; then
		bad "$name" "accepted"
	elif ! grep -qE "^bench-report: $re" "$tmp/err"; then
		bad "$name" "said: $(cat "$tmp/err")"
	elif [ -e "$tmp/bad/results.json" ]; then
		bad "$name" "wrote results.json"
	else
		ok "$name"
	fi
}
grep -v '^\[bench\]' "$fx" > "$tmp/nobench.txt"
refuse malformed-run "'vmx:mem:2' is not BACKEND:BENCH:SIZE:LOG" "vmx:mem:2"
refuse unknown-backend "'x86:mem:2:.*': backend 'x86'" "x86:mem:2:$fx"
refuse bad-size "'vmx:mem:two:.*': size 'two'" "vmx:mem:two:$fx"
refuse missing-log "cannot read /nonexistent" "vmx:mem:2:/nonexistent"
refuse no-bench-lines ".*nobench.txt: no \[bench\] op= lines" "vmx:mem:2:$tmp/nobench.txt"

# scripts/bench-paging on the canned pair of a real QEMU run of
# tests/bench/qemu-paging-{slat,shadow}-8M.scn: its figures are the logs'.
pg=$top/scripts/bench-paging
fs=$top/tests/bench/fixtures/svm-paging-slat.txt
fh=$top/tests/bench/fixtures/svm-paging-shadow.txt
mkdir -p "$tmp/pg" && echo '[]' > "$tmp/pg/results.json"
if "$pg" "$tmp/pg" "svm:$fs:$fh" > "$tmp/pg/stdout" 2> "$tmp/pg/stderr"; then
	j=$tmp/pg/results.json
	# Memory exits: every #PF, INVLPG and SLAT-violation op and the slat.*
	# ops they became, over the guest's own demand faults.
	want=$(awk '/^\[bench\] op=(exit\.(page-fault|invlpg|slat-violation)|slat\.(populate|rebuild)) /{
			for (i = 1; i <= NF; i++) if ($i ~ /^total=/) t += substr($i, 7) }
		/demand_faults=/ { split($3, a, "="); f = a[2] }
		END { printf "%d", t / f }' "$fh")
	got=$(jq -r '.[] | select(.kind == "paging") | .b.per_guest_fault' "$j")
	[ "$got" = "$want" ] && ok "paging-per-fault ($got)" || bad "paging-per-fault" "$got, want $want"
	refl=$(sed -nE "s/.* ([0-9]+) the guest's own faults.*/\1/p" "$fh")
	jq -e --argjson r "$refl" '.[] | select(.kind == "paging") | .b.faults_exited == $r and .a.faults_exited == 0 and .a.label == "NPT" and .b.label == "shadow"' "$j" > /dev/null &&
		ok "paging-faults-exited ($refl)" || bad "paging-faults-exited" "$(jq -c '.[] | select(.kind == "paging")' "$j")"
	whole=$(sed -nE 's/.*shadow flushes: ([0-9]+) whole.*/\1/p' "$fh")
	jq -e --argjson w "$whole" '.[] | select(.kind == "paging") | .b.whole_flushes == $w' "$j" > /dev/null &&
		ok "paging-flushes ($whole)" || bad "paging-flushes" "not $whole"
	grep -qE '^  +page-fault +[0-9]+$' "$tmp/pg/stdout" && grep -qE '^  +slat-violation +[0-9]+ *$' "$tmp/pg/stdout" &&
		ok "paging-table" || bad "paging-table" "no page-fault or slat-violation row"
else
	bad "paging" "failed: $(cat "$tmp/pg/stderr")"
fi
grep -v '^\[bench\]' "$fh" > "$tmp/pg-nobench.txt"
if "$pg" "$tmp/pg" "svm:$fs:$tmp/pg-nobench.txt" > /dev/null 2> "$tmp/err"; then
	bad "paging-no-bench-lines" "accepted"
elif grep -qE '^bench-paging: .*pg-nobench.txt: no \[bench\] op= lines' "$tmp/err"; then
	ok "paging-no-bench-lines"
else
	bad "paging-no-bench-lines" "said: $(cat "$tmp/err")"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
