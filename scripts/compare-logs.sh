#!/usr/bin/env bash
# compare-logs.sh NAME QEMU-LOG BOCHS-LOG
# The same scenario on QEMU/SVM and on Bochs/VMX must print the same thing
# apart from counters, addresses, timing and the vendor's names.  For each
# VM, its own lines ([vmN] ...) and the hypervisor's lines about it
# ([hv] vmN ...) are compared in order, after normalizing:
#   numbers -> N (decimal and hex), SVM+NPT/VMX+EPT -> BACKEND, NPT/EPT ->
#   SLAT, VMMCALL/VMCALL -> HCALL, AuthenticAMD/GenuineIntel -> VENDOR,
#   and the exit-table entries that only one vendor has (extint, timer) or
#   that depend on when a timer interrupt meets the guest (intr-window) out.
# VMs interleave differently on the two machines, so streams are per VM.
# Prints one PASS:/FAIL: line; on failure, the diff.
set -uo pipefail

name=$1 a=$2 b=$3
normalize() {	# log, vm
	grep -aE "^\[$2\] |^\[hv\] $2[ :]" "$1" |
		sed -E -e 's/SVM\+NPT|VMX\+EPT/BACKEND/g' -e 's/\b(NPT|EPT)\b/SLAT/g' \
			-e 's/\bVMM?CALL\b/HCALL/g' -e 's/AuthenticAMD|GenuineIntel/VENDOR/g' \
			-e 's/, (extint|timer|intr-window) [0-9]+//g' \
			-e 's/0x[0-9a-fA-F]+/0xN/g' -e 's/[0-9]+/N/g'
}
for f in "$a" "$b"; do
	[ -s "$f" ] || { echo "FAIL: compare:$name: no log $f (run its boot scenario first)"; exit 1; }
done
vms=$(grep -aoE '^\[vm[0-9]+\]' "$a" | sort -u | tr -d '[]')
[ -n "$vms" ] || { echo "FAIL: compare:$name: no VM output in $a"; exit 1; }
status=0
for vm in $vms; do
	if ! out=$(diff <(normalize "$a" "$vm") <(normalize "$b" "$vm")); then
		echo "FAIL: compare:$name:$vm (QEMU/SVM '<' vs Bochs/VMX '>')"
		printf '%s\n' "$out" | head -n 20 | sed 's/^/  | /'
		status=1
	fi
done
[ $status = 0 ] && echo "PASS: compare:$name ($(echo $vms | wc -w) VMs: same output apart from counters)"
exit $status
