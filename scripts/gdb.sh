#!/usr/bin/env bash
# gdb.sh ESP.img hv.elf guest64.elf - `make gdb`: QEMU halted at reset with
# a GDB stub, and GDB attached with the hypervisor's and the guest kernel's
# symbols (their addresses do not overlap), memvisor's commands (`help mv`,
# scripts/gdb/memvisor.py) and a hardware breakpoint on hv_main (the image
# is loaded only after OVMF runs, so software breakpoints set at reset
# would be overwritten).  The serial output goes to build/gdb-serial.log:
# watch it with `tail -f` in another terminal.  docs/debugging.md walks
# through a session.
set -euo pipefail
esp=$1 elf=$2 guest=$3
port=${GDB_PORT:-1234}
log=$(dirname "$elf")/gdb-serial.log
: > "$log"
GDB=1 GDB_PORT=$port SERIAL=$log "$(dirname "$0")/run-qemu.sh" "$esp" &
qemu=$!
# run-qemu.sh ends QEMU when it is killed.
trap 'kill $qemu 2>/dev/null || true; wait $qemu 2>/dev/null || true' EXIT
trap 'exit 143' TERM HUP
echo "gdb.sh: QEMU is halted at reset; serial output: tail -f $log"
gdb -nx -q \
	-ex 'set confirm off' \
	-ex 'set tcp connect-timeout 30' \
	-ex "file $elf" \
	-ex "add-symbol-file $guest" \
	-ex "source $(dirname "$0")/gdb/memvisor.py" \
	-ex "target remote 127.0.0.1:$port" \
	-ex 'hbreak hv_main' \
	-ex 'echo Type "continue" to boot to hv_main; "help mv" lists the memvisor commands.\n'
