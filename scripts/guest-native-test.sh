#!/usr/bin/env bash
# guest-native-test.sh - boots the guest kernel (build/guest.elf) natively
# under QEMU TCG, once per scenario, and checks what it printed on COM1 and
# how QEMU exited.  No hypervisor is involved: this proves the guest itself
# (boot, page tables, demand paging, workloads, failure reporting) before
# memvisor runs it.
#
# One line per scenario, "PASS: guest-native:<name>" or
# "FAIL: guest-native:<name>" followed by the reasons and the log's tail,
# then "N passed, N failed".  Exit status 0 only if every scenario passed.
#
# Environment (defaults in brackets): BUILD [build], GUEST_ELF
# [$BUILD/guest.elf], QEMU [qemu-system-x86_64], TIMEOUT per boot in
# seconds [30], LOGDIR for the serial logs [$BUILD/guest-native].
#
# QEMU's isa-debug-exit turns the guest's status v (written to port 0xf4)
# into the exit status (v << 1) | 1; -no-reboot makes a triple fault end
# QEMU (status 0) instead of rebooting forever.

set -u
cd "$(dirname "$0")/.."

GUEST_ELF=${GUEST_ELF:-${BUILD:-build}/guest.elf}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TIMEOUT:-30}
LOGDIR=${LOGDIR:-${BUILD:-build}/guest-native}

# Guest exit statuses (guest/abi.h) as QEMU reports them.
QEMU_PASS=1            # STATUS_PASS 0
QEMU_VERIFY_FAILED=3   # STATUS_VERIFY_FAILED 1
QEMU_BAD_CMDLINE=5     # STATUS_BAD_CMDLINE 2
QEMU_EXCEPTION=7       # STATUS_EXCEPTION 3
QEMU_TRIPLE_FAULT=0    # shutdown with -no-reboot

passed=0
failed=0
LOG=
STATUS=
PROBLEMS=

# boot_guest NAME CMDLINE: runs one guest, sets LOG and STATUS.
boot_guest() {
	LOG=$LOGDIR/$1.log
	PROBLEMS=
	rm -f "$LOG"
	timeout "$TIMEOUT" "$QEMU" -kernel "$GUEST_ELF" -append "$2" \
		-m 128M -display none -serial "file:$LOG" -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		</dev/null >"$LOGDIR/$1.qemu.txt" 2>&1
	STATUS=$?
	touch "$LOG"
}

problem() {
	PROBLEMS+="    $*"$'\n'
}

# expect_status N: QEMU's exit status.
expect_status() {
	if [ "$STATUS" = 124 ]; then
		problem "timed out after ${TIMEOUT}s"
	elif [ "$STATUS" != "$1" ]; then
		problem "exit status $STATUS, expected $1"
	fi
}

# expect_last_line REGEX: the result line must be the very last line.
expect_last_line() {
	local last
	last=$(tail -n 1 "$LOG")
	if ! grep -Eq -- "$1" <<<"$last"; then
		problem "last line is '$last', expected /$1/"
	fi
}

# expect_line REGEX: some line matches.
expect_line() {
	grep -Eq -- "$1" "$LOG" || problem "no line matches /$1/"
}

# expect_no_line REGEX: no line matches.
expect_no_line() {
	! grep -Eq -- "$1" "$LOG" || problem "a line matches /$1/"
}

# expect_faults_equal_pages WORKLOAD...: each workload's result line
# "<w>: verified N bytes; pages=P faults=F" has P == F, i.e. every page
# was populated by exactly one demand fault.
expect_faults_equal_pages() {
	local w line pages faults
	for w in "$@"; do
		line=$(grep -E "^$w: verified [0-9]+ bytes; pages=" "$LOG")
		if [ -z "$line" ]; then
			problem "no '$w: verified ... pages=' line"
			continue
		fi
		pages=$(sed -E 's/.*pages=([0-9]+).*/\1/' <<<"$line")
		faults=$(sed -E 's/.*faults=([0-9]+).*/\1/' <<<"$line")
		[ "$pages" = "$faults" ] ||
			problem "$w: $faults demand faults for $pages pages"
	done
}

report() {
	if [ -z "$PROBLEMS" ]; then
		echo "PASS: guest-native:$1"
		passed=$((passed + 1))
	else
		echo "FAIL: guest-native:$1"
		printf '%s' "$PROBLEMS"
		echo "    --- last lines of $LOG:"
		tail -n 15 "$LOG" | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
}

expect_pass() {
	expect_status $QEMU_PASS
	expect_last_line '^GUEST RESULT: PASS$'
}

scenario_touch() {
	boot_guest touch "work=touch,verify touch=4M seed=7"
	expect_pass
	expect_line '^touch: verified 4194304 bytes; pages=1024 faults=1024$'
	expect_faults_equal_pages touch
	expect_line '^verify: all 1 regions intact'
	report touch
}

scenario_dup_cow() {
	boot_guest dup-cow "work=dup,cow,verify dup=64 cow=16 seed=7"
	expect_pass
	expect_faults_equal_pages dup
	expect_line '^cow: verified 16 changed and 48 untouched pages'
	expect_line '^verify: all 2 regions intact'
	report dup-cow
}

# Two guests with the same seed must hold identical dup pages, wherever
# their heaps put them: here the second one runs touch first, so its dup
# region sits at another address and on other frames.
scenario_dup_same_seed() {
	local first second other
	first=$(grep -Eo 'dup: digest=0x[0-9a-f]+' "$LOGDIR/dup-cow.log")
	boot_guest dup-same-seed "work=touch,dup touch=1M dup=64 seed=7"
	expect_pass
	second=$(grep -Eo 'dup: digest=0x[0-9a-f]+' "$LOG")
	[ -n "$first" ] && [ "$first" = "$second" ] ||
		problem "digest '$second' differs from dup-cow's '$first'"
	boot_guest dup-other-seed "work=dup dup=64 seed=8"
	other=$(grep -Eo 'dup: digest=0x[0-9a-f]+' "$LOG")
	[ -n "$other" ] && [ "$other" != "$first" ] ||
		problem "seed 8 gave digest '$other', same as seed 7"
	report dup-same-seed
}

scenario_hotcold() {
	boot_guest hotcold "work=hotcold,verify hot=64K cold=4M rounds=8"
	expect_pass
	expect_line '^hotcold: verified [0-9]+ bytes; pages=1040 faults=1040$'
	expect_faults_equal_pages hotcold
	report hotcold
}

scenario_pt() {
	boot_guest pt "work=pt pt=64"
	expect_pass
	expect_line '^pt: every remapped page verified'
	report pt
}

scenario_idle() {
	boot_guest idle "work=idle idle=1M idle_ticks=50"
	expect_pass
	expect_line '^idle: .*50 idle ticks .*PAUSE loop'
	expect_line '^idle: all 1 regions verified after 25 ticks'
	expect_line '^idle: balloon stayed empty for 50 ticks; every byte verified$'
	expect_faults_equal_pages idle
	expect_line '^balloon: driver not run \(no memvisor\)$'
	report idle
}

# spill writes 8 MiB, verifies it and gives all but 1 MiB back to the
# frame allocator: the free frames must grow by exactly that, and verify
# must find the kept MiB intact.
scenario_spill() {
	local line before after
	boot_guest spill "work=spill,verify seed=9"
	expect_pass
	expect_line '^spill: writing 2048 pages at 0x[0-9a-f]+, keeping 256 of them$'
	expect_faults_equal_pages spill
	line=$(grep -E '^spill: gave 1792 frames back' "$LOG")
	if [ -z "$line" ]; then
		problem "no 'spill: gave 1792 frames back' line"
	else
		before=$(sed -E 's/.*free frames ([0-9]+) -> ([0-9]+).*/\1/' <<<"$line")
		after=$(sed -E 's/.*free frames ([0-9]+) -> ([0-9]+).*/\2/' <<<"$line")
		[ $((after - before)) = 1792 ] ||
			problem "free frames went $before -> $after, not +1792"
	fi
	expect_line '^verify: spill +256 pages at 0x[0-9a-f]+ ok$'
	expect_line '^verify: all 1 regions intact, 1048576 bytes checked$'
	report spill
	boot_guest spill-keep0 "work=spill,verify spill=64K spill_keep=0"
	expect_pass
	expect_line '^spill: gave 16 frames back'
	expect_line '^verify: all 1 regions intact, 0 bytes checked$'
	report spill-keep0
}

# grow in 1 MiB steps, everything verified after each; one progress line
# per two steps (16 steps, 8 lines) and the last says all of it.
scenario_grow() {
	boot_guest grow "work=grow,verify seed=11"
	expect_pass
	expect_line '^grow: 4096 pages at 0x[0-9a-f]+ in 16 steps of 256 pages$'
	expect_line '^grow: 2048 of 16384 KiB written, all verified \(step 2 of 16\); free frames [0-9]+; balloon holds 0$'
	expect_line '^grow: 16384 of 16384 KiB written, all verified \(step 16 of 16\)'
	[ "$(grep -c '^grow: .* KiB written' "$LOG")" = 8 ] ||
		problem "not 8 grow progress lines"
	expect_faults_equal_pages grow
	expect_line '^verify: grow +4096 pages at 0x[0-9a-f]+ ok$'
	report grow
	boot_guest grow-bad "work=grow grow=1M grow_step=2M"
	expect_status $QEMU_BAD_CMDLINE
	expect_last_line '^GUEST RESULT: FAIL bad command line: grow_step=2097152 exceeds grow=1048576$'
	report grow-bad
}

# The overcommit scenarios' guests, natively: dup + spill + idle and
# dup + grow compose (one region table, idle's verification in the middle
# sees all of them, one verify at the end); balloon=off; what needs
# memvisor refuses (idle_deflate) or skips (balloon-touch); and the old
# balloon=N is refused with a pointer to balloon_pages=.
scenario_overcommit_mix() {
	boot_guest mix-idle "work=dup,spill,idle,verify dup=32 spill=4M idle=1M idle_ticks=10 seed=13"
	expect_pass
	expect_faults_equal_pages dup spill idle
	expect_line '^idle: all 4 regions verified after 5 ticks'
	expect_line '^verify: all 4 regions intact'
	report mix-idle
	boot_guest mix-grow "work=dup,grow,verify dup=32 grow=4M grow_step=512K seed=13"
	expect_pass
	expect_faults_equal_pages dup grow
	expect_line '^verify: all 3 regions intact'
	report mix-grow
	boot_guest mix-balloon-off "work=dup,spill,idle,verify balloon=off spill=1M idle_ticks=4"
	expect_pass
	expect_line '^balloon: driver off \(balloon=off\)$'
	report mix-balloon-off
	boot_guest mix-deflate-native "work=idle idle_deflate=10"
	expect_status $QEMU_BAD_CMDLINE
	expect_last_line '^GUEST RESULT: FAIL idle: idle_deflate=10 needs the balloon driver'
	report mix-deflate-native
	boot_guest balloon-old-key "work=balloon balloon=64"
	expect_status $QEMU_BAD_CMDLINE
	expect_last_line "^GUEST RESULT: FAIL bad command line: balloon=64: expected on or off"
	report balloon-old-key
	boot_guest balloon-touch "hostile=balloon-touch"
	expect_pass
	expect_line '^balloon-touch: SKIP needs memvisor'
	report balloon-touch
}

scenario_all() {
	boot_guest all "work=touch,dup,cow,hotcold,pt,idle,spill,grow,verify touch=8M seed=3"
	expect_pass
	expect_faults_equal_pages touch dup hotcold idle spill grow
	expect_line '^verify: all 8 regions intact'
	expect_line '^summary: demand_faults=[0-9]+ spurious_faults=0 '
	report all
}

# The page-sharing workloads natively: volatile rewrites its set every
# round and verifies both sets; zero leaves its pages all zero; settle
# needs memvisor and skips (no YIELD without the signature).
scenario_volatile() {
	boot_guest volatile "work=volatile,verify volatile=64 vrounds=32 seed=7"
	expect_pass
	expect_line '^volatile: 64 pages rewritten 32 times, 64 still pages; verified 524288 bytes$'
	expect_line '^volatile: verified 524288 bytes; pages=128 faults=128$'
	expect_faults_equal_pages volatile
	expect_line '^verify: still +64 pages at 0x[0-9a-f]+ ok$'
	expect_line '^verify: volatile +64 pages at 0x[0-9a-f]+ ok$'
	report volatile
}

scenario_zero_settle() {
	boot_guest zero-settle "work=settle,zero,verify zero=100 settle=5 settle_shared=10"
	expect_pass
	expect_line '^settle: SKIP needs memvisor'
	expect_no_line '^settle: MEMSTAT'
	expect_line '^zero: 100 pages resident and all zero; verified 409600 bytes$'
	expect_faults_equal_pages zero
	expect_line '^verify: all 1 regions intact'
	report zero-settle
}

# corrupt=1 lands in volatile's still set, which the end of volatile must
# catch (the volatile set itself is rewritten every round).
scenario_volatile_corrupt() {
	boot_guest volatile-corrupt "work=volatile volatile=8 vrounds=4 corrupt=1"
	expect_status $QEMU_VERIFY_FAILED
	expect_line '^corrupt: flipped byte at 0x[0-9a-f]+ in still '
	expect_last_line '^GUEST RESULT: FAIL still: 1 wrong byte'
	report volatile-corrupt
}

# QEMU TCG sets CPUID.1:ECX[31] itself; the guest must see it is not
# memvisor and skip, not VMMCALL (which would be #UD here).
scenario_no_memvisor() {
	boot_guest no-memvisor "work=balloon hostile=hcall-badgfn"
	expect_pass
	expect_line '^hv: not memvisor .*TCGTCGTCGTCG'
	expect_line '^balloon: SKIP needs memvisor'
	expect_line '^hcall-badgfn: SKIP needs memvisor'
	report no-memvisor
	boot_guest cow-storm "work=dup dup=16 hostile=cow-storm"
	expect_pass
	expect_line '^cow-storm: SKIP needs memvisor'
	report cow-storm
}

# The same for the balloon-alias action: no hypercall without memvisor.
scenario_no_memvisor_alias() {
	boot_guest no-memvisor-alias "hostile=balloon-alias"
	expect_pass
	expect_line '^balloon-alias: SKIP needs memvisor'
	expect_no_line 'hostile: INFLATE'
	report no-memvisor-alias
}

# The control- and debug-register actions natively: DR0-DR3/DR7 and the
# breakpoint work without a hypervisor; CR8 reads back; what QEMU's TCG
# itself does not refuse with #GP (CR8 bit 4, and the CR0/CR4 actions),
# and cr8-spin, which would spin forever, are skipped.
scenario_cr_regs() {
	boot_guest dr7 "hostile=dr7"
	expect_pass
	expect_line '^hostile: after the writes: DR0-DR3 and DR7 read back as written \(DR7 0xd0401\)'
	expect_line '^hostile: a read, then another write: 2 #DB so far'
	expect_line '^hostile: dr7: debug registers kept, the breakpoint fired once per write'
	report dr7
	boot_guest cr8 "hostile=cr8"
	expect_pass
	expect_line '^hostile: CR8 <- 0\.\.15: each read back as written'
	expect_line '^cr8 <- 16: SKIP natively'
	report cr8
	boot_guest cr8-spin "hostile=cr8-spin"
	expect_pass
	expect_line '^cr8-spin: SKIP needs memvisor'
	report cr8-spin
}

# The core's hostile actions natively: in32 and compute run and pass (the
# width of IN is the CPU's business); those that need memvisor skip, and
# hlt-cli skips instead of halting forever.
scenario_core_actions() {
	boot_guest in32 "hostile=in32"
	expect_pass
	expect_line '^hostile: IN EAX from port 0x220 with RAX 0x3333333355555555: RAX 0x00000000'
	expect_line '^hostile: in32: every IN wrote exactly its operand'
	report in32
	boot_guest compute "hostile=compute"
	expect_pass
	expect_line '^hostile: compute: done, result 0x[0-9a-f]{16}$'
	report compute
	local a
	for a in hlt-cli hcall-user msr-sweep hcall-reserved; do
		boot_guest "$a" "hostile=$a"
		expect_pass
		expect_line "^$a: SKIP needs memvisor"
		report "$a"
	done
}

# The negative test: one flipped byte must be caught, and reported at the
# address where it was flipped.
scenario_corrupt() {
	local addr
	boot_guest corrupt "work=touch,verify touch=1M seed=7 corrupt=1"
	expect_status $QEMU_VERIFY_FAILED
	addr=$(sed -nE 's/^corrupt: flipped byte at (0x[0-9a-f]+) .*/\1/p' "$LOG")
	if [ -z "$addr" ]; then
		problem "no 'corrupt: flipped byte at' line"
	else
		expect_line "^verify touch: MISMATCH at $addr: "
		expect_last_line "^GUEST RESULT: FAIL touch: 1 wrong byte\\(s\\) .*first at $addr "
	fi
	report corrupt
}

scenario_bad_cmdline() {
	boot_guest bad-cmdline "work=touch bogus=1"
	expect_status $QEMU_BAD_CMDLINE
	expect_last_line "^GUEST RESULT: FAIL bad command line: unknown key 'bogus'$"
	report bad-cmdline
}

# An unexpected exception is reported with vector and registers.
scenario_exception() {
	boot_guest exception "hostile=vmxon"
	expect_status $QEMU_EXCEPTION
	expect_line '^exception: #UD invalid opcode \(vector 6\)'
	expect_line '^  rip=[0-9a-f]{16} cs=0008'
	expect_last_line '^GUEST RESULT: FAIL exception #UD'
	report exception
}

# Natively INVLPGA is #UD too (QEMU's CPU has SVM, but EFER.SVME is 0); the
# CPUID check and the other vendor's hypercall need memvisor and skip.
scenario_insn_actions() {
	boot_guest invlpga "hostile=invlpga"
	expect_status $QEMU_EXCEPTION
	expect_line '^hostile: executing INVLPGA'
	expect_last_line '^GUEST RESULT: FAIL exception #UD'
	report invlpga
	boot_guest cpuid-hidden "hostile=cpuid-hidden"
	expect_pass
	expect_line '^cpuid-hidden: SKIP needs memvisor'
	report cpuid-hidden
	boot_guest hcall-other-vendor "hostile=hcall-other-vendor"
	expect_pass
	expect_line '^hcall-other-vendor: SKIP needs memvisor'
	expect_no_line 'hostile: VERSION'
	report hcall-other-vendor
}

# A fault outside the heap is reported with CR2, the decoded error code
# and the four-level walk.
scenario_page_fault_report() {
	boot_guest page-fault-report "hostile=wild"
	expect_status $QEMU_EXCEPTION
	expect_line '^#PF: page fault at CR2=0xdeadb000'
	expect_line '^  error 0x2: P=0 W=1 U=0 I=0'
	expect_line '^    PML4E\[  0\] = '
	expect_line '^    PDPTE\[  3\] = 0x0000000000000000  not present'
	expect_last_line '^GUEST RESULT: FAIL page fault at 0xdeadb000 \(not present\)'
	report page-fault-report
}

# An empty IDT plus an exception must triple-fault (QEMU shuts down under
# -no-reboot), not hang and not print a result.
scenario_triple_fault() {
	boot_guest triple-fault "hostile=triple"
	expect_status $QEMU_TRIPLE_FAULT
	expect_line '^hostile: loading an empty IDT'
	expect_no_line '^GUEST RESULT'
	report triple-fault
}

# The emulated-instruction actions (work_hostile_emul.c) check architectural
# answers, which the real (emulated) CPU gives natively too; outs-bad's
# unmapped source is a plain #PF here.
scenario_emulated() {
	local a
	for a in xsetbv invd outs ins; do
		boot_guest "emul-$a" "hostile=$a"
		expect_pass
		expect_no_line 'WRONG'
		report "emul-$a"
	done
	boot_guest emul-outs-bad "hostile=outs-bad"
	expect_status $QEMU_EXCEPTION
	expect_last_line '^GUEST RESULT: FAIL page fault at 0xdeadb000 \(not present\)'
	report emul-outs-bad
}

main() {
	mkdir -p "$LOGDIR"
	if [ ! -f "$GUEST_ELF" ]; then
		echo "FAIL: guest-native:build"
		echo "    $GUEST_ELF is missing (build it with make $GUEST_ELF)"
		echo "0 passed, 1 failed"
		exit 1
	fi
	scenario_touch
	scenario_dup_cow
	scenario_dup_same_seed
	scenario_hotcold
	scenario_pt
	scenario_idle
	scenario_spill
	scenario_grow
	scenario_overcommit_mix
	scenario_all
	scenario_volatile
	scenario_zero_settle
	scenario_volatile_corrupt
	scenario_no_memvisor
	scenario_no_memvisor_alias
	scenario_core_actions
	scenario_corrupt
	scenario_bad_cmdline
	scenario_exception
	scenario_insn_actions
	scenario_page_fault_report
	scenario_triple_fault
	scenario_emulated
	scenario_cr_regs
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

main "$@"
