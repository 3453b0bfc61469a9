#!/usr/bin/env bash
# run-qemu.sh ESP.img [extra QEMU args...]
# Boots memvisor from a FAT ESP image in QEMU with OVMF.
#
#   default   TCG with a CPU model that has AMD SVM and nested paging
#   KVM=1     -enable-kvm -cpu host (Intel VMX+EPT on a host with nested KVM,
#             or SVM+NPT on an AMD host)
#   GDB=1     start halted with a GDB stub on tcp port GDB_PORT (1234)
#   SERIAL=F  serial output to file F instead of the terminal
#   MEM=512M  guest RAM of the emulated machine
#   ICOUNT=1  -icount shift=0: repeatable instruction counts (benchmarks)
#
# Exit status: 0 when memvisor ended with HV RESULT: PASS (it writes 0x10 to
# isa-debug-exit: QEMU status 33), 1 for FAIL (0x11: status 35), 2 when QEMU
# ended any other way (reset, power-off, a QEMU error), or the status of a
# signal that killed it (e.g. 124 from a caller's timeout).
#
# QEMU never outlives this script: it runs as a child that every exit path
# (a signal included: a caller's timeout, Ctrl-C) ends and waits for.
set -euo pipefail

esp=${1:?usage: run-qemu.sh ESP.img [qemu args...]}
shift
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
for f in "$ovmf_code" "$ovmf_vars"; do
	[ -r "$f" ] || { echo "run-qemu.sh: $f missing: run scripts/deps.sh" >&2; exit 2; }
done

qemu=
vars=$(mktemp /tmp/memvisor-vars.XXXXXX)
cleanup() {
	if [ -n "$qemu" ]; then
		kill "$qemu" 2>/dev/null || true
		wait "$qemu" 2>/dev/null || true
	fi
	rm -f "$vars"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$ovmf_vars" "$vars"

args=(
	-nodefaults -machine q35 -m "${MEM:-512M}" -smp 1
	-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code"
	-drive "if=pflash,format=raw,unit=1,file=$vars"
	-drive "format=raw,file=$esp,if=ide"
	-display none -nic none -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
)
if [ "${KVM:-0}" = 1 ]; then
	args+=(-enable-kvm -cpu host)
else
	args+=(-accel tcg -cpu qemu64,+svm,+npt)
fi
[ "${GDB:-0}" = 1 ] && args+=(-gdb "tcp:127.0.0.1:${GDB_PORT:-1234}" -S)
[ "${ICOUNT:-0}" = 1 ] && args+=(-icount shift=0)
if [ -n "${SERIAL:-}" ]; then
	args+=(-serial "file:$SERIAL")
else
	args+=(-serial stdio)
fi

# In the background (stdin kept: -serial stdio reads it) so that a signal
# to this script runs its trap at once instead of after QEMU ends.
status=0
qemu-system-x86_64 "${args[@]}" "$@" <&0 &
qemu=$!
wait "$qemu" || status=$?
qemu=
case $status in
33) exit 0 ;;
35) exit 1 ;;
124 | 137 | 143) exit "$status" ;;
*)
	echo "run-qemu.sh: QEMU ended with status $status without a memvisor result" >&2
	exit 2
	;;
esac
