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
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
