#!/usr/bin/env bash
# mkiso.sh OUT.iso HV.ELF HV.CFG [MODULE...]
# Builds the GRUB (BIOS, multiboot2) ISO that Bochs boots: GRUB loads hv.elf
# with the command line from HV.CFG and each module under its file name.
set -euo pipefail

out=$1 hv=$2 cfg=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

mkdir -p "$tree/boot/grub" "$tree/modules"
cp "$hv" "$tree/hv.elf"
cmdline=$("$here/cfg-to-cmdline.sh" "$cfg")
{
	echo "set timeout=0"
	echo "set default=0"
	echo "menuentry \"memvisor\" {"
	# GRUB's own quoting: single quotes keep the hypervisor's double quotes.
	echo "	multiboot2 /hv.elf '${cmdline//\'/\'\\\'\'}'"
	for m in "$@"; do
		cp "$m" "$tree/modules/"
		echo "	module2 /modules/$(basename "$m") $(basename "$m")"
	done
	echo "	boot"
	echo "}"
} > "$tree/boot/grub/grub.cfg"
# Quiet unless it fails: xorriso is chatty.
if ! grub-mkrescue -o "$out" "$tree" > "$tree.log" 2>&1; then
	cat "$tree.log" >&2
	rm -f "$tree.log"
	exit 1
fi
rm -f "$tree.log"
