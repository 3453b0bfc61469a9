#!/usr/bin/env bash
# deps.sh - installs the Debian packages memvisor's build and tests need,
# when they are missing, and says what it installs.  Cheap when nothing is
# missing, so every make target that builds or runs calls it.
set -euo pipefail

packages=(
	make gcc binutils nasm	# the hypervisor and guest
	gnu-efi			# the UEFI loader
	mtools			# FAT ESP image without root
	grub-pc-bin grub-common xorriso	# the multiboot2 ISO for Bochs
	qemu-system-x86 ovmf	# QEMU with UEFI firmware
	bochs bochsbios vgabios bochs-term	# Bochs (VMX) and its terminal display
	gdb			# make gdb and the GDB test
	libxxhash-dev		# XXH3, the page-content hash of sharing (mm/share.c)
	gnuplot-nox jq		# scripts/plot-stats: [stat] JSON lines to a PNG
	memtest86+		# a guest we did not write: /boot/memtest86+x64.bin
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo > /dev/null || {
		echo "deps.sh: not root and no sudo: install these as root: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/memvisor-deps.log 2>&1 || {
	tail -n 20 /tmp/memvisor-deps.log >&2
	echo "deps.sh: apt-get install failed (log: /tmp/memvisor-deps.log)" >&2
	exit 1
}
echo "deps.sh: installed ${missing[*]}"
