/*
 * work_hostile_pt.c - hostile= actions on the guest's own page tables:
 * what a hypervisor that walks them (vm=...,paging=shadow) must survive,
 * and one where the CPU walking them through EPT/NPT must too.
 *
 *   cr3-outside  CR3 loaded with an address beyond the guest's RAM: no
 *                walk can read it, and the VM must be stopped
 *   pt-loop      PML4 entry 510 points at the PML4 itself, a loop in the
 *                tables (a "recursive" slot): through it the PML4 and a
 *                PDPT read as data and match what the physmap shows, a
 *                write through it changes the PML4 (the guest writes a
 *                page table through a mapping that table provides), and
 *                once the slot is cleared and invalidated the address
 *                faults; every walk stays four levels long
 *   pt-scribble  the guest's PML4 overwritten through the physmap with
 *                entries that set a reserved bit: the next walk faults,
 *                and so does the #PF's delivery (its IDT and stack are
 *                gone too): a triple fault, and the VM must be stopped
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "trap.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
#define LOOP_SLOT 510u
#define SCRATCH_SLOT 509u
/* Bits 51:MAXPHYADDR of a PML4 entry are reserved; bit 51 is, for every
 * physical-address width memvisor's guests see (at most 48). */
#define PTE_RESERVED (UINT64_C(1) << 51)

/* The address whose four indices are r, r, r, i: through the loop slot r,
 * the table PML4[i] points at (i = r: the PML4 itself). */
static uint64_t loop_va(unsigned r, unsigned i)
{
	uint64_t va = (uint64_t)r << 39 | (uint64_t)r << 30 |
		      (uint64_t)r << 21 | (uint64_t)i << 12;
	return va >> 47 ? va | UINT64_C(0xffff000000000000) : va;
}

static int pt_loop(struct work_ctx *c)
{
	uint64_t cr3 = read_cr3() & ~(PAGE - 1);
	volatile uint64_t *pml4 = phys_to_virt(cr3);
	const uint64_t pml4_va = loop_va(LOOP_SLOT, LOOP_SLOT);
	uint64_t v;
	int bad = 0;

	if (pml4[LOOP_SLOT] || pml4[SCRATCH_SLOT])
		return work_fail(c, STATUS_HOSTILE, "pt-loop: PML4 slots %u "
				 "and %u are not free", LOOP_SLOT, SCRATCH_SLOT);
	kprintf("hostile: pt-loop: PML4[%u] = the PML4 itself (0x%lx); the "
		"PML4 appears at 0x%lx\n", LOOP_SLOT, cr3, pml4_va);
	pml4[LOOP_SLOT] = cr3 | PTE_P | PTE_W | PTE_NX;
	/* A new entry over a non-present one: nothing to invalidate. */
	for (unsigned i = 0; i < 512; i++) {
		if (probe_read_u64(pml4_va + i * 8, &v) < 0 || v != pml4[i]) {
			kprintf("hostile: pt-loop: PML4[%u] reads 0x%lx through "
				"the loop, 0x%lx through the physmap\n", i, v,
				pml4[i]);
			bad++;
		}
	}
	/* The physmap's PDPT, as data: through PML4[510] three times, then
	 * PML4[256]. */
	uint64_t pdpt = pml4[256] & PTE_ADDR_MASK;
	volatile uint64_t *pdpt_map = phys_to_virt(pdpt);
	for (unsigned i = 0; i < 512; i++) {
		if (probe_read_u64(loop_va(LOOP_SLOT, 256) + i * 8, &v) < 0 ||
		    v != pdpt_map[i]) {
			kprintf("hostile: pt-loop: PDPT[%u] reads 0x%lx through "
				"the loop\n", i, v);
			bad++;
		}
	}
	/* A write through the loop is a write to the PML4. */
	const uint64_t marker = UINT64_C(0x0000000abcde0000);	/* not present */
	if (probe_write_u64(pml4_va + SCRATCH_SLOT * 8, marker) < 0 ||
	    pml4[SCRATCH_SLOT] != marker) {
		kprintf("hostile: pt-loop: writing PML4[%u] through the loop "
			"left 0x%lx\n", SCRATCH_SLOT, pml4[SCRATCH_SLOT]);
		bad++;
	}
	pml4[SCRATCH_SLOT] = 0;
	/* Gone, and invalidated: the address must fault now. */
	pml4[LOOP_SLOT] = 0;
	write_cr3(read_cr3());	/* the loop mapped many addresses */
	if (probe_read_u64(pml4_va, &v) == 0) {
		kprintf("hostile: pt-loop: 0x%lx still reads 0x%lx after the "
			"slot was cleared\n", pml4_va, v);
		bad++;
	}
	if (bad)
		return work_fail(c, STATUS_HOSTILE, "pt-loop: %d reads or "
				 "writes wrong", bad);
	kprintf("hostile: pt-loop: the PML4 and a PDPT read as data through "
		"the loop, a write through it reached the PML4, and the "
		"cleared slot faults\n");
	return WORK_PASS;
}

int work_hostile_pt(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_CR3_OUTSIDE: {
		uint64_t gpa = (vm_ram_top() + PAGE - 1) & ~(PAGE - 1);
		kprintf("hostile: loading CR3 = 0x%lx (RAM ends at 0x%lx)\n",
			gpa, vm_ram_top());
		write_cr3(gpa);
		return work_fail(c, STATUS_HOSTILE,
				 "hostile=cr3-outside was not stopped");
	}
	case HOSTILE_PT_LOOP:
		return pt_loop(c);
	case HOSTILE_PT_SCRIBBLE: {
		volatile uint64_t *pml4 = phys_to_virt(read_cr3() & ~(PAGE - 1));
		kprintf("hostile: pt-scribble: every PML4 entry gets reserved "
			"bit 51, then a fresh page is touched\n");
		for (unsigned i = 0; i < 512; i++)
			pml4[i] |= PTE_RESERVED | PTE_P;
		write_cr3(read_cr3());
		*(volatile uint64_t *)(uintptr_t)SCRATCH_BASE = 1;
		return work_fail(c, STATUS_HOSTILE,
				 "hostile=pt-scribble was not stopped");
	}
	default:
		return WORK_SKIP;
	}
}
