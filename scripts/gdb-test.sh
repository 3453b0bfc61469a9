#!/usr/bin/env bash
# gdb-test.sh - a scripted GDB session against QEMU, the way `make gdb` is
# used: QEMU starts halted (-S) with a GDB stub; GDB loads hv.elf's symbols,
# sets a hardware breakpoint on the hypervisor's C entry (it is loaded only
# after OVMF runs, so a software breakpoint written at reset would be
# overwritten by the loader), continues, and checks where it stopped.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
dir=$build/gdb-test
rm -rf "$dir"
mkdir -p "$dir"
port=$((20000 + RANDOM % 20000))

printf '# gdb test: default configuration\n' > "$dir/hv.cfg"
"$top/scripts/mkesp.sh" "$dir/esp.img" "$build/BOOTX64.EFI" "$build/hv.elf" \
	"$dir/hv.cfg" "$build/guest.elf" > /dev/null 2>&1 ||
	{ echo "FAIL: gdb:setup: cannot build the ESP image"; exit 1; }
GDB=1 GDB_PORT=$port SERIAL=$dir/serial.log timeout 120 \
	"$top/scripts/run-qemu.sh" "$dir/esp.img" > "$dir/qemu.log" 2>&1 &
qemu=$!
# Killed half-way, end QEMU too (timeout passes the signal on to
# run-qemu.sh, which ends QEMU).
trap '[ -n "$qemu" ] && kill "$qemu" 2>/dev/null; wait' EXIT
trap 'exit 143' TERM INT HUP

# GDB retries the connection until QEMU listens (tcp connect-timeout).
timeout 120 gdb -batch -nx \
	-ex 'set pagination off' -ex 'set confirm off' \
	-ex 'set tcp connect-timeout 30' \
	-ex "file $build/hv.elf" \
	-ex "target remote 127.0.0.1:$port" \
	-ex 'hbreak hv_main' \
	-ex 'continue' \
	-ex 'info symbol $pc' \
	-ex 'printf "boot_info magic: 0x%lx\n", ((struct boot_info *)$rdi)->magic' \
	-ex 'printf "loader: %s\n", ((struct boot_info *)$rdi)->loader_name' \
	-ex 'delete' \
	-ex 'continue' \
	> "$dir/gdb.log" 2>&1
wait $qemu
qemu_status=$?
qemu=
tr -d '\r' < "$dir/serial.log" > "$dir/serial.txt" 2>/dev/null

check() {	# name, regex, file
	if grep -Eq "$2" "$3"; then
		echo "PASS: gdb:$1"
	else
		echo "FAIL: gdb:$1 (no '$2' in $3)"
		tail -n 15 "$3" | sed 's/^/  | /'
		return 1
	fi
}
rc=0
check hbreak-hv_main '^Hardware assisted breakpoint 1 at 0x[0-9a-f]+: file hv/main\.c' "$dir/gdb.log" || rc=1
check stopped-in-hv_main '^hv_main in section \.text' "$dir/gdb.log" || rc=1
check boot_info-in-rdi '^boot_info magic: 0x6f666e69746f6f62$' "$dir/gdb.log" || rc=1
check loader-name '^loader: memvisor UEFI loader' "$dir/gdb.log" || rc=1
check continue-to-pass '^HV RESULT: PASS$' "$dir/serial.txt" || rc=1
if [ $qemu_status -ne 0 ]; then
	echo "FAIL: gdb:qemu-exit (run-qemu.sh status $qemu_status)"
	rc=1
fi
exit $rc
