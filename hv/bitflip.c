/*
 * bitflip.c - selftest=bitflip:VM:MS, the negative control of the
 * memtest86+ scenarios: a run in which memvisor does lose one bit, to
 * prove that the memory tester in the VM, and the scenario reading its
 * console, would notice if memvisor ever lost one for real.
 *
 * After MS ms of the VM's guest time (the TSC since its first entry, as
 * runtime= counts it), between two of its slices, one bit of one byte in
 * the middle of its RAM is inverted, and from then on it stays stuck at
 * that value: between slices, whenever the guest has written the bit
 * back, it is inverted again (a stuck cell, the fault a memory tester is
 * made to find).  One flip alone is caught only if the tester reads that
 * byte before it next rewrites it (memtest86+ did at 5 of 8 measured
 * moments), and even a second held stuck for a while can fall between two
 * visits of the tester to that address (seen once holding it 1 s): a
 * negative control that sometimes passes proves nothing.
 *
 * The byte is read and written back through the hypervisor's own
 * guest-memory path (vm_read_phys and vm_write_phys, mm/gmem.c), exactly
 * as a hypercall's output would be: a swapped-out page is brought back, a
 * shared page is copied first (its other mappers, in this VM or another,
 * keep the intact content), so the flip corrupts this VM's view of that
 * one byte and nothing else, and every invariant the end-of-VM self-check
 * proves still holds.
 */
#include "bitflip.h"
#include "console.h"
#include "vmmem.h"
#include "../arch/x86/lapic.h"

#define BITFLIP_OFFSET 0x123	/* in the page: not word-aligned */
#define BITFLIP_BIT 4

static struct {
	bool started, over;
	u8 stuck;		/* the bit's value while it is held */
	u64 flips;
} flip;

static u64 flip_gpa(const struct vm *vm)
{
	return (vm->mem_bytes / 2 & ~(u64)(PAGE_SIZE - 1)) + BITFLIP_OFFSET;
}

/* Sets the bit to its stuck value if the guest changed it; -1 if the
 * byte cannot be read or written. */
static int hold_bit(struct vm *vm, u8 *before)
{
	u64 gpa = flip_gpa(vm);
	u8 mask = (u8)(1u << BITFLIP_BIT), after;

	if (vm_read_phys(vm, gpa, before, 1) < 0)
		return -1;
	if (!flip.started)
		flip.stuck = (*before & mask) ^ mask;
	if ((*before & mask) == flip.stuck)
		return 0;
	after = (u8)((*before & ~mask) | flip.stuck);
	if (vm_write_phys(vm, gpa, &after, 1) < 0)
		return -1;
	flip.flips++;
	return 0;
}

void bitflip_maybe(struct vm *vm, const struct hv_config *cfg)
{
	u8 before;

	if (flip.over || cfg->selftest != SELFTEST_BITFLIP ||
	    (unsigned)vm->id != cfg->bitflip_vm || vm->state != VM_RUNNING ||
	    !vm->first_entry_tsc ||
	    rdtsc() - vm->first_entry_tsc < cfg->bitflip_ms * 1000 * tsc_per_us)
		return;
	if (hold_bit(vm, &before) < 0) {
		hv_log("selftest bitflip: %s GPA 0x%llx cannot be read or "
		       "written (out of memory): no more flips", vm->name,
		       (unsigned long long)flip_gpa(vm));
		flip.over = true;
		return;
	}
	if (!flip.started) {
		flip.started = true;
		hv_log("selftest bitflip: %s GPA 0x%llx bit %d flipped (0x%02x "
		       "-> 0x%02x) after %llu ms of guest time, and held stuck "
		       "from now on: the guest must see a wrong byte", vm->name,
		       (unsigned long long)flip_gpa(vm), BITFLIP_BIT, before,
		       before ^ (1u << BITFLIP_BIT),
		       (unsigned long long)cfg->bitflip_ms);
	}
}

void bitflip_report(const struct vm *vm, const struct hv_config *cfg)
{
	if (cfg->selftest != SELFTEST_BITFLIP ||
	    (unsigned)vm->id != cfg->bitflip_vm)
		return;
	if (!flip.started)
		hv_log("selftest bitflip: %s ended before %llu ms of guest "
		       "time: nothing flipped", vm->name,
		       (unsigned long long)cfg->bitflip_ms);
	else
		hv_log("selftest bitflip: %s GPA 0x%llx bit %d was held stuck; "
		       "the guest wrote it back %llu times", vm->name,
		       (unsigned long long)flip_gpa(vm), BITFLIP_BIT,
		       (unsigned long long)flip.flips - 1);
}
