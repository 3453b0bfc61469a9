#!/usr/bin/env bash
# run-unit.sh BIN... - runs host unit-test binaries; their PASS:/FAIL: lines
# pass through.  A binary that crashes (a sanitizer report, say) without
# printing its summary counts as one failure.
set -uo pipefail
status=0
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL:' <<< "$out"; then
		echo "FAIL: unit:$(basename "$bin") exited with status $rc"
	fi
	[ $rc -eq 0 ] || status=1
done
exit $status
