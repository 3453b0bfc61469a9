#!/usr/bin/env bash
# gdb-test.sh - scripted GDB sessions against QEMU (TCG, SVM + NPT), the
# way `make gdb` is used: QEMU starts halted (-S) with a GDB stub; GDB
# loads hv.elf's and the guest kernel's symbols and memvisor's helpers
# (scripts/gdb/memvisor.py), and connects.
#
#   boot  a hardware breakpoint on the hypervisor's C entry (it is loaded
#         only after OVMF runs, so a software breakpoint written at reset
#         would be overwritten by the loader); where it stopped, and
#         boot_info read through its argument.
#   mv    the helpers through a real run (tests/gdb/mv-session.py): vm1's
#         first demand fault on its heap (mv break-guest, mv where, a guest
#         variable with mv gprint), the SLAT violation it causes (mv
#         break-fault), the leaf appearing (mv slat), the guest's 2D walk
#         (mv gwalk), a shared and a swapped p2m entry (mv p2m, mv frame,
#         mv swap), and bad input.  The addresses the helpers print are
#         checked against the hypervisor's own log of that violation
#         (slat_trace=) and the guest's console.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
dir=$build/gdb-test
rm -rf "$dir"
mkdir -p "$dir"

# session NAME CFG GDB-ARGS...: boots CFG with a GDB stub and runs GDB
# on it; leaves $dir/NAME.gdb.log and $dir/NAME.serial.txt.
session() {
	local name=$1 cfg=$2 port=$((20000 + RANDOM % 20000)) qemu status
	shift 2
	printf '%s\n' "$cfg" > "$dir/$name.cfg"
	"$top/scripts/mkesp.sh" "$dir/$name.img" "$build/BOOTX64.EFI" \
		"$build/hv.elf" "$dir/$name.cfg" "$build/guest.elf" \
		> /dev/null 2>&1 ||
		{ echo "FAIL: gdb:$name:setup: cannot build the ESP image"; return 1; }
	GDB=1 GDB_PORT=$port SERIAL=$dir/$name.serial.log timeout 240 \
		"$top/scripts/run-qemu.sh" "$dir/$name.img" \
		> "$dir/$name.qemu.log" 2>&1 &
	qemu=$!
	# GDB retries the connection until QEMU listens (tcp connect-timeout).
	timeout 200 gdb -batch -nx \
		-ex 'set pagination off' -ex 'set confirm off' \
		-ex 'set tcp connect-timeout 30' \
		-ex "file $build/hv.elf" \
		-ex "add-symbol-file $build/guest/guest64.elf" \
		-ex "source $top/scripts/gdb/memvisor.py" \
		-ex "target remote 127.0.0.1:$port" \
		"$@" > "$dir/$name.gdb.log" 2>&1
	wait $qemu
	status=$?
	tr -d '\r' < "$dir/$name.serial.log" > "$dir/$name.serial.txt" 2>/dev/null
	if [ $status -ne 0 ]; then
		echo "FAIL: gdb:$name:qemu-exit (run-qemu.sh status $status)"
		return 1
	fi
}
# Killed half-way, end QEMU too (timeout passes the signal on to
# run-qemu.sh, which ends QEMU).
trap 'jobs -p | xargs -r kill 2>/dev/null; wait' EXIT
trap 'exit 143' TERM INT HUP

rc=0
check() {	# name, extended regex, file
	if grep -Eq -- "$2" "$3"; then
		echo "PASS: gdb:$1"
	else
		echo "FAIL: gdb:$1 (no '$2' in $3)"
		tail -n 15 "$3" | sed 's/^/  | /'
		rc=1
	fi
}
# The first value a sed -E pattern (one group) takes in a file, or "".
extract() {
	sed -nE "s/$1/\\1/p" "$2" | head -n 1
}

# --- offline: no target ----------------------------------------------
# The records memvisor.py decodes by hand match hv.elf's debug information
# (and a mismatch is caught), and a command without a target says so.
gdb -batch -nx -ex "file $build/hv.elf" \
	-ex "source $top/scripts/gdb/memvisor.py" \
	-ex 'python check_layout(); print("layout: matches hv.elf")' \
	-ex 'python LAYOUT["struct frame_meta"][2] = ("state", 47, 4)' \
	-ex 'python exec("try:\n check_layout()\nexcept MvError as e:\n print(\"layout changed: %s\" % e)")' \
	-ex 'python e = SlatFormat("EPT"); print("EPT leaf: %s %s" % (e.perms(0x925335), e.bits(0x925335, True)))' \
	-ex 'python n = SlatFormat("NPT"); print("NPT leaf: %s %s" % (n.perms(0x8000000000925065), n.bits(0x8000000000925065, True)))' \
	-ex 'python print("guest PDE: " + guest_flags(0x1930a7, False))' \
	-ex 'mv vms' > "$dir/offline.log" 2>&1
check offline:layout '^layout: matches hv\.elf$' "$dir/offline.log"
check offline:layout-change-caught "^layout changed: hv\.elf's struct frame_meta\.state is at bit 48, size 4; memvisor\.py decodes bit 47, size 4: update it\$" "$dir/offline.log"
# The entry decoders on entries as the backends build them (EPT: R+X,
# write-back, accessed and dirty; NPT: read-only, no-execute, accessed and
# dirty; a guest PDE with PS).
check offline:ept-bits '^EPT leaf: R-X R X memtype=WB A D$' "$dir/offline.log"
check offline:npt-bits '^NPT leaf: R-- P US A D NX$' "$dir/offline.log"
check offline:guest-bits '^guest PDE: P RW US A PS$' "$dir/offline.log"
check offline:no-target '^mv vms: not connected: target remote HOST:PORT first' "$dir/offline.log"

# --- boot -------------------------------------------------------------
session boot '# gdb test: default configuration' \
	-ex 'hbreak hv_main' \
	-ex 'continue' \
	-ex 'info symbol $pc' \
	-ex 'printf "boot_info magic: 0x%lx\n", ((struct boot_info *)$rdi)->magic' \
	-ex 'printf "loader: %s\n", ((struct boot_info *)$rdi)->loader_name' \
	-ex 'mv where' \
	-ex 'delete' \
	-ex 'continue' || rc=1
log=$dir/boot.gdb.log
check boot:hbreak-hv_main '^Hardware assisted breakpoint 1 at 0x[0-9a-f]+: file hv/main\.c' "$log"
check boot:stopped-in-hv_main '^hv_main in section \.text' "$log"
check boot:boot_info-in-rdi '^boot_info magic: 0x6f666e69746f6f62$' "$log"
check boot:loader-name '^loader: memvisor UEFI loader' "$log"
check boot:mv-where-hv "^in the hypervisor, between slices \\(no VM on the CPU\\): RIP 0x[0-9a-f]+ hv_main at hv/main\\.c:[0-9]+ \\(hv\\.elf\\)\$" "$log"
check boot:continue-to-pass '^HV RESULT: PASS$' "$dir/boot.serial.txt"

# --- mv ---------------------------------------------------------------
# Two VMs, same seed (shared pages), on a pool too small for both
# (swapped pages); every SLAT violation logged: boot/gdb-demo.cfg,
# docs/debugging.md's configuration.
session mv "$(cat "$top/boot/gdb-demo.cfg")" \
	-x "$top/tests/gdb/mv-session.py" || rc=1
log=$dir/mv.gdb.log serial=$dir/mv.serial.txt

check mv:no-vm-yet '^no VM exists yet' "$log"
check mv:break-guest-before-vms '^breakpoint 1: vm_handle_demand_fault \(0x[0-9a-f]+, guest guest64\.elf\), stops only in vm1 \(no VM exists yet\)$' "$log"
check mv:where-guest '^inside vm1 \(guest guest\.elf\): RIP 0x[0-9a-f]+ vm_handle_demand_fault at guest/[a-z_]+\.[ch]:[0-9]+ \(guest64\.elf\); CR3 0x[0-9a-f]+$' "$log"
# The guest variables hold what its command line said (dup=64 seed=5).
check mv:gprint-dup_pages '^vm1 cfg\.dup_pages = 64$' "$log"
check mv:gprint-seed '^vm1 cfg\.seed = 5$' "$log"
# The faulting heap address is the dup region's first page, which the
# guest announced on its console.
gva=$(extract '^KNOWN GVA=(0x[0-9a-f]+)$' "$log")
check mv:fault-is-on-the-heap "^\\[vm1\\] dup: 64 pages at ${gva:-NONE} " "$serial"
check mv:gwalk-not-mapped-yet "^ERROR: mv gwalk: vm1: GVA ${gva:-NONE} is not mapped: the guest's P[A-Z0-9]+ entry [0-9]+ \\(table at GPA 0x[0-9a-f]+\\) is not present" "$log"
check mv:break-fault-stop '^vm1 SLAT violation: write GPA 0x[0-9a-f]+ \(gfn 0x[0-9a-f]+\), no leaf; p2m before: unpopulated$' "$log"
check mv:where-hv "^in the hypervisor, during vm1's slice: RIP 0x[0-9a-f]+ gmem_fault at mm/gmem\\.c:[0-9]+ \\(hv\\.elf\\)\$" "$log"
gpa=$(extract '^FAULT GPA=(0x[0-9a-f]+)$' "$log")
check mv:slat-before-map '^the walk stops at the PT entry [0-9]+: not present; an access exits \(nested page fault violation\)$' "$log"
check mv:p2m-before-map '^p2m: gfn 0x[0-9a-f]+ unpopulated: the first touch populates it' "$log"
# What the hypervisor itself logged for that violation: the frame it
# mapped.
hpa=$(extract "^\\[hv\\] vm1 slat: write GPA ${gpa:-NONE} at RIP 0x[0-9a-f]+: was unpopulated, now private HPA (0x[0-9a-f]+), leaf HPA 0x[0-9a-f]+ RWX\$" "$serial")
check mv:hv-logged-the-fault "^\\[hv\\] vm1 slat: write GPA ${gpa:-NONE} at RIP 0x[0-9a-f]+: was unpopulated, now private HPA ${hpa:-NONE}, leaf HPA ${hpa:-NONE} RWX\$" "$serial"
check mv:slat-leaf-appears "^GPA ${gpa:-NONE} -> HPA ${hpa:-NONE} \\(RWX\\)\$" "$log"
check mv:slat-agrees-with-p2m "^p2m: gfn 0x[0-9a-f]+ private HPA ${hpa:-NONE} \\[mapped\\]: agrees\$" "$log"
# At the guest's next fault the page translates all the way: its frame
# is the NPT leaf of that moment, and one the hypervisor logged mapping
# for this GPA (the page may have moved since the first fault: the
# scanner merges a zeroed page into the zero frame, the next write
# breaks that with a copy).
now=$(extract "^GVA ${gva:-NONE} -> GPA ${gpa:-NONE} -> HPA (0x[0-9a-f]+)\$" "$log")
check mv:gwalk-2d "^GVA ${gva:-NONE} -> GPA ${gpa:-NONE} -> HPA ${now:-NONE}\$" "$log"
check mv:gwalk-matches-slat "^GPA ${gpa:-NONE} -> HPA ${now:-NONE} \\(RWX\\)\$" "$log"
check mv:gwalk-hpa-logged "^\\[hv\\] vm1 slat: [a-z]+ GPA ${gpa%???}[0-9a-f]{3} at RIP 0x[0-9a-f]+: was [^,]+, now private HPA ${now:-NONE}, leaf HPA ${now:-NONE} RWX\$" "$serial"
check mv:gwalk-24-entries '^24 entries read for this translation: 4 guest entries \+ 20 NPT entries \(5 nested walks\)' "$log"
check mv:gwalk-levels '^  PT +0x[0-9a-f]+ +0 +0x[0-9a-f]+ +P RW A D NX ' "$log"
check mv:vms-on-cpu '^vm1 +running +guest +0x[0-9a-f]+ +0x[0-9a-f]+ +[0-9]+ +[0-9]+ +[1-9][0-9]* +[0-9]+  guest\.elf$' "$log"
check mv:p2m-summary '^  swapped +[1-9][0-9]* +first gfns: ' "$log"
check mv:p2m-shared '^vm1 gfn 0x[0-9a-f]+ \(GPA 0x[0-9a-f]+\): shared HPA 0x[0-9a-f]+ \(refcount [2-9][0-9]*\) .*; frame record: shared, group 0, hash 0x[0-9a-f]+ \(agrees\)$' "$log"
check mv:frame-mappers '^  [2-9][0-9]* guest pages map it; the record says [0-9]+ \(agrees\)$' "$log"
swapped=$(extract '^PICKED shared=0x[0-9a-f]+ swapped=(0x[0-9a-f]+)$' "$log")
check mv:p2m-swapped "^vm1 gfn ${swapped:-NONE} \\(GPA 0x[0-9a-f]+\\): swapped slot [0-9]+; slot owner vm1 gfn ${swapped:-NONE} \\(agrees\\); RAM-disk block at HPA 0x[0-9a-f]+\$" "$log"
check mv:swap-slots '^  used slots counted: [1-9][0-9]* \(matches\)$' "$log"
check mv:pool-free-list '^  free list: [0-9]+ frames \(matches st\.free\)$' "$log"

# Bad input: each command answers with one line saying what is wrong.
bad=(
	'mv p2m 9 0|there is no vm9: vm0\.\.vm1 exist'
	"mv p2m 1 0x99999|gfn 0x99999 is beyond vm1's RAM"
	"mv slat 1 0x7000000|GPA 0x7000000 is beyond vm1's RAM"
	"mv slat x 0|'x' is not a VM number"
	"mv gwalk 1 0x123456789000|vm1: GVA 0x123456789000 is not mapped: the guest's PML4 entry 36 "
	'mv gwalk 1 0x800000000000|GVA 0x800000000000 is not canonical'
	'mv frame 0x1234|HPA 0x1234 is not a guest-pool frame'
	"mv gprint 1 no_such_variable|no variable 'no_such_variable' in the guest's symbols"
	"mv gprint 1 cfg.no_such_field|struct guest_config has no field 'no_such_field'"
	"mv break-guest 1 no_such_function|no function 'no_such_function' in the guest's symbols"
	"mv break-fault 1 bogus|unknown state 'bogus'"
	'mv p2m|usage: mv p2m VM'
)
for b in "${bad[@]}"; do
	cmd=${b%%|*} re=${b#*|}
	# The command's output: the lines up to the next command.
	out=$(awk -v c="(gdb) $cmd" '$0 == c { on = 1; next }
		on && /^\(gdb\) |^BAD INPUT DONE$/ { exit } on' "$log")
	if [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
	   printf '%s\n' "$out" | grep -Eq "^ERROR: mv [a-z0-9-]+: .*$re"; then
		echo "PASS: gdb:mv:bad-input:${cmd// /_}"
	else
		echo "FAIL: gdb:mv:bad-input:${cmd// /_} (want one line matching '$re'; got:)"
		printf '%s\n' "$out" | sed 's/^/  | /'
		rc=1
	fi
done
if grep -Eq 'Traceback|Python Exception|internal error' "$log" "$dir/offline.log"; then
	echo "FAIL: gdb:mv:no-traceback"
	grep -E -B2 -A5 'Traceback|Python Exception|internal error' "$log" "$dir/offline.log" | sed 's/^/  | /'
	rc=1
else
	echo "PASS: gdb:mv:no-traceback"
fi
# The run under the debugger ends as it would without it.
check mv:self-check-vm0 '^\[hv\] vm0 self-check: NPT walk matches the p2m \([0-9]+ leaves, 0 differences\)$' "$serial"
check mv:self-check-vm1 '^\[hv\] vm1 self-check: NPT walk matches the p2m \([0-9]+ leaves, 0 differences\)$' "$serial"
check mv:continue-to-pass '^HV RESULT: PASS$' "$serial"
exit $rc
