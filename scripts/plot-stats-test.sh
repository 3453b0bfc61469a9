#!/usr/bin/env bash
# plot-stats-test.sh - checks scripts/plot-stats on the canned serial log
# tests/plot/sample-serial.txt (a real run's preamble and first [stat] lines
# in the old schema, then invented lines with the mem/ballooned/target/
# blocked fields, garbage, a [stat] line cut by other output, one after
# other text, and a truncated last line) and on the error cases.
#
# The tables plot-stats builds (PLOT_STATS_KEEP) are compared with values
# jq reads from the sample itself, the PNG's signature and IHDR size are
# checked, and every error case must give its message and status 1.
# One "PASS: plot-stats:<name>" / "FAIL: plot-stats:<name> ..." line per
# check, then "N passed, N failed"; exit status 0 only if all passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
plot=$top/scripts/plot-stats
sample=$top/tests/plot/sample-serial.txt
tmp=$(mktemp -d /tmp/plot-stats-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() {
	echo "PASS: plot-stats:$1"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: plot-stats:$1: $2"
	[ -f "$tmp/err" ] && sed 's/^/    stderr: /' "$tmp/err"
	fail=$((fail + 1))
}

# png_ok FILE W H: a PNG signature, an IHDR of W x H pixels, and more than
# a trivial size (an empty 1200-pixel-wide canvas compresses to a few KiB).
png_ok() {
	[ -f "$1" ] || { echo "no file $1"; return 1; }
	local sig ihdr size
	sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
	[ "$sig" = 89504e470d0a1a0a ] || { echo "signature $sig is not PNG's"; return 1; }
	ihdr=$(od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%d %d", $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
	[ "$ihdr" = "$2 $3" ] || { echo "IHDR size $ihdr, expected $2 $3"; return 1; }
	size=$(stat -c %s "$1")
	[ "$size" -gt 20000 ] || { echo "only $size bytes"; return 1; }
}

# --- the sample: PNG, counts, tables ---------------------------------------
rm -f "$tmp/err"
if "$plot" "$sample" "$tmp/sample.png" > "$tmp/out" 2> "$tmp/err" &&
	why=$(png_ok "$tmp/sample.png" 1200 930); then
	ok sample-png
else
	bad sample-png "status or image wrong: ${why:-plot-stats failed}"
fi
nstat=$(grep -a -c -F '[stat] ' "$sample")
if grep -q "skipped 5 of $nstat \[stat\] lines that do not parse" "$tmp/err" &&
	grep -q "$((nstat - 5)) \[stat\] lines from 0.03 s to 5.824 s; VMs: 0 1\$" "$tmp/out"; then
	ok sample-counts
else
	bad sample-counts "expected 5 of $nstat lines skipped and $((nstat - 5)) used, 2 VMs"
fi
if grep -q 'left out' "$tmp/err"; then
	bad sample-curves "a curve was left out although the sample has its fields"
else
	ok sample-curves
fi

# The tables against jq's own reading of the sample's good lines.
keep=$tmp/keep
PLOT_STATS_KEEP=$keep "$plot" "$sample" "$tmp/keep.png" > /dev/null 2> "$tmp/err"
grep -a -F '[stat] ' "$sample" | sed 's/^.*\[stat\] //; s/\r$//' |
	jq -R -c 'try fromjson catch empty | select(.t_ms != null)' > "$tmp/good.json"
# Every pool row: t, free, frames, high, soft, hard, low (NaN where absent).
jq -r '[.t_ms / 1000, .pool.free, .pool.frames, .mem.high, .mem.soft,
	.mem.hard, .mem.low] | map(if . == null then "NaN" else tostring end)
	| join("\t")' "$tmp/good.json" > "$tmp/pool.want"
if cmp -s "$tmp/pool.want" "$keep/pool.dat"; then
	ok pool-table
else
	bad pool-table "pool.dat differs from the sample: $(diff "$tmp/pool.want" "$keep/pool.dat" 2>&1 | head -n 4 | tr '\n' ' ')"
fi
for vm in 0 1; do
	jq -r --argjson n "$vm" '.t_ms as $t | .vms[] | select(.vm == $n)
		| [.vm, $t / 1000, .resident, .shared, .swapped, .ballooned, .target,
		   (if .blocked == "memory" then 1 else 0 end),
		   (if .blocked == "held" then 1 else 0 end)]
		| map(if . == null then "NaN" else tostring end) | join("\t")' \
		"$tmp/good.json" > "$tmp/vm$vm.want"
	if [ -s "$tmp/vm$vm.want" ] && cmp -s "$tmp/vm$vm.want" "$keep/vm$vm.dat"; then
		ok "vm$vm-table"
	else
		bad "vm$vm-table" "vm$vm.dat differs from the sample: $(diff "$tmp/vm$vm.want" "$keep/vm$vm.dat" 2>&1 | head -n 4 | tr '\n' ' ')"
	fi
done
# The sample's balloon really inflates and deflates, and the plot draws it.
if awk -F '\t' '$6 != "NaN" && $6 > 400 { up = 1 } up && $6 == 0 { down = 1 }
		END { exit !(up && down) }' "$keep/vm0.dat" &&
	grep -q "title 'ballooned'" "$keep/plot.gp" &&
	grep -q "title 'balloon target'" "$keep/plot.gp" &&
	grep -q "title 'high threshold'" "$keep/plot.gp" &&
	grep -q "title 'waits for memory'" "$keep/plot.gp" &&
	grep -q "title 'held (reclaim)'" "$keep/plot.gp"; then
	ok balloon-curves
else
	bad balloon-curves "vm0's balloon does not rise and fall in vm0.dat, or plot.gp lacks a curve"
fi

# --- an older log: no mem, no balloon fields -------------------------------
awk '{ print } /^\[stat\] / && ++n == 3 { exit }' "$sample" > "$tmp/old.txt"
rm -f "$tmp/err"
if "$plot" "$tmp/old.txt" > /dev/null 2> "$tmp/err" &&
	why=$(png_ok "$tmp/old.png" 1200 930) &&
	grep -q 'left out the free-memory state thresholds' "$tmp/err" &&
	grep -q 'left out ballooned pages' "$tmp/err"; then
	ok old-schema
else
	bad old-schema "no PNG at the default name, or the left-out curves not named: ${why:-}"
fi

# --- no VMs yet, and a VM entry without any field -----------------------
printf '[stat] {"t_ms":2,"pool":{"frames":9,"free":3},"vms":[]}\n[stat] {"t_ms":7,"vms":[{}]}\n' > "$tmp/novm.txt"
rm -f "$tmp/err"
if "$plot" "$tmp/novm.txt" > "$tmp/out" 2> "$tmp/err" &&
	why=$(png_ok "$tmp/novm.png" 1200 630) && grep -q 'VMs: 0$' "$tmp/out"; then
	ok sparse-lines
else
	bad sparse-lines "no PNG of one VM panel for two sparse lines: ${why:-}"
fi

# --- errors ------------------------------------------------------------------
# expect_err NAME MESSAGE-REGEX COMMAND...: status 1, the message, no PNG.
expect_err() {
	local name=$1 msg=$2 rc=0
	shift 2
	rm -f "$tmp/err.png"
	"$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
	if [ "$rc" -eq 1 ] && grep -q -E "$msg" "$tmp/err" && [ ! -e "$tmp/err.png" ]; then
		ok "$name"
	else
		bad "$name" "status $rc (expected 1), wanted a line matching '$msg' and no image"
	fi
}
grep -v -F '[stat]' "$sample" > "$tmp/nostat.txt"
expect_err no-stat-lines 'nostat.txt: no \[stat\] lines \(run with stat_interval=MS' \
	"$plot" "$tmp/nostat.txt" "$tmp/err.png"
expect_err no-such-file 'nothere.txt: no such file' \
	"$plot" "$tmp/nothere.txt" "$tmp/err.png"
grep -a '^\[stat\] {' "$sample" | cut -c1-60 > "$tmp/cut.txt"
expect_err all-lines-bad "none of its $(wc -l < "$tmp/cut.txt") \[stat\] lines parses" \
	"$plot" "$tmp/cut.txt" "$tmp/err.png"
expect_err no-gnuplot 'not found: run scripts/deps.sh' \
	env GNUPLOT="$tmp/no-gnuplot" "$plot" "$sample" "$tmp/err.png"
expect_err no-jq 'not found: run scripts/deps.sh' \
	env JQ="$tmp/no-jq" "$plot" "$sample" "$tmp/err.png"
expect_err usage 'usage: plot-stats LOG \[OUT.png\]' "$plot"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
