#!/usr/bin/env bash
# mkesp.sh OUT.img BOOTX64.EFI HV.ELF HV.CFG [MODULE...]
# Builds the FAT EFI system partition image OVMF boots from (mtools only, no
# root or loop devices needed):
#   EFI/BOOT/BOOTX64.EFI  hv.elf  hv.cfg  modules/<each module>
# Pass "-" for HV.ELF or HV.CFG to leave that file out (bad-input tests).
set -euo pipefail

out=$1 efi=$2 hv=$3 cfg=$4
shift 4
size_mib=64
for m in "$@"; do
	size_mib=$((size_mib + $(stat -c %s "$m") / 1048576 + 1))
done

rm -f "$out"
truncate -s "${size_mib}M" "$out"
mformat -i "$out" -F -v MEMVISOR ::
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/modules
mcopy -i "$out" "$efi" ::/EFI/BOOT/BOOTX64.EFI
[ "$hv" = - ] || mcopy -i "$out" "$hv" ::/hv.elf
[ "$cfg" = - ] || mcopy -i "$out" "$cfg" ::/hv.cfg
for m in "$@"; do
	mcopy -i "$out" "$m" "::/modules/$(basename "$m")"
done
