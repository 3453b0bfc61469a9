#!/usr/bin/env bash
# elf-corrupt.sh IN.elf OUT.elf MODE
# Writes a deliberately broken copy of an ELF64 file, for the loader's
# bad-input tests:
#   bad-magic             the second magic byte 'E' becomes 'X'
#   segment-outside-ram   the first program header's p_paddr and p_vaddr
#                         move to 16 TiB, far beyond any test machine's RAM
#   truncated             the file is cut to 100 bytes (headers point
#                         beyond the end)
set -euo pipefail

in=$1 out=$2 mode=$3
cp "$in" "$out"

# Writes a little-endian u64 at a byte offset.
put_u64() {
	local off=$1 val=$2 bytes="" i
	for i in 0 1 2 3 4 5 6 7; do
		bytes+=$(printf '\\x%02x' $(((val >> (8 * i)) & 0xff)))
	done
	printf "$bytes" | dd of="$out" bs=1 seek="$off" conv=notrunc status=none
}

case $mode in
bad-magic)
	printf 'X' | dd of="$out" bs=1 seek=1 conv=notrunc status=none
	;;
segment-outside-ram)
	# ELF64 header: e_phoff is the u64 at offset 0x20; in a program header
	# p_vaddr is at +0x10 and p_paddr at +0x18.
	phoff=$(od -An -tu8 -j 32 -N 8 "$in" | tr -d ' ')
	put_u64 $((phoff + 0x10)) $((16 << 40))
	put_u64 $((phoff + 0x18)) $((16 << 40))
	;;
truncated)
	truncate -s 100 "$out"
	;;
*)
	echo "elf-corrupt.sh: unknown mode '$mode'" >&2
	exit 2
	;;
esac
