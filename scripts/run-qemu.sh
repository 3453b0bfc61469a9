#!/usr/bin/env bash
# run-qemu.sh ESP.img [extra QEMU args...]
# Boots memvisor from a FAT ESP image in QEMU with OVMF.
#
#   default   TCG with a CPU model that has AMD SVM and nested paging
#   KVM=1     -enable-kvm -cpu host (Intel VMX+EPT on a host with nested KVM,
#             or SVM+NPT on an AMD host)
#   GDB=1     start halted with a GDB stub on :1234 (-s -S)
#   SERIAL=F  serial output to file F instead of the terminal
#   MEM=512M  guest RAM of the emulated machine
#   ICOUNT=1  -icount shift=0: repeatable instruction counts (benchmarks)
#
# Exit status: 0 when memvisor printed HV RESULT: PASS (isa-debug-exit code
# 0 -> QEMU status 1), 1 for FAIL (code 1 -> status 3), anything else is
# QEMU's own status (e.g. 124 if a caller's timeout killed it).
set -euo pipefail

esp=${1:?usage: run-qemu.sh ESP.img [qemu args...]}
shift
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
for f in "$ovmf_code" "$ovmf_vars"; do
	[ -r "$f" ] || { echo "run-qemu.sh: $f missing: run scripts/deps.sh" >&2; exit 2; }
done

vars=$(mktemp /tmp/memvisor-vars.XXXXXX)
trap 'rm -f "$vars"' EXIT
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
[ "${GDB:-0}" = 1 ] && args+=(-s -S)
[ "${ICOUNT:-0}" = 1 ] && args+=(-icount shift=0)
if [ -n "${SERIAL:-}" ]; then
	args+=(-serial "file:$SERIAL")
else
	args+=(-serial stdio)
fi

status=0
qemu-system-x86_64 "${args[@]}" "$@" || status=$?
case $status in
1) exit 0 ;;
3) exit 1 ;;
*) exit "$status" ;;
esac
