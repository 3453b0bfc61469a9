/*
 * vm.h - the guest kernel's address space: its page tables, the frame
 * allocator behind them, the demand-paged heap and the physmap.
 *
 * Virtual layout (one PML4 slot per area, so the areas never share a table):
 *
 *   0x0000000000000000  not mapped: null pointers fault
 *   0x0000000000100000  kernel image, identity-mapped with 4 KiB pages:
 *                         .text R+X, .rodata R+NX, .data/.bss RW+NX,
 *                         the page below the stack left out (guard)
 *   0x0000008000000000  heap (PML4[1]): starts empty; a page appears on
 *                         its first touch, through the #PF handler
 *   0x0000010000000000  scratch window (PML4[2]): mapped and unmapped
 *                         explicitly by the pt and hostile workloads
 *   0xFFFF800000000000  physmap (PML4[256]): guest-physical [0, RAM top)
 *                         with 2 MiB pages, RW+NX, for page tables and
 *                         frame contents
 */
#ifndef GUEST_VM_H
#define GUEST_VM_H

#include <stdint.h>

#include "mb.h"
#include "pt.h"

#define HEAP_BASE UINT64_C(0x0000008000000000)
#define HEAP_SIZE (UINT64_C(64) << 30)
#define SCRATCH_BASE UINT64_C(0x0000010000000000)
#define SCRATCH_SIZE (UINT64_C(512) << 30) /* one PML4 slot */
#define PHYSMAP_BASE UINT64_C(0xFFFF800000000000)

/* The guest uses RAM below this; more is ignored (and said so at boot). */
#define GUEST_PHYS_LIMIT (UINT64_C(4) << 30)

struct vm_stats {
	uint64_t demand_faults;   /* heap pages populated by #PF */
	uint64_t spurious_faults; /* #PF on a page already mapped */
	uint64_t table_pages;     /* frames used for page tables */
	uint64_t invlpgs;
};

/* Builds the final page tables and switches CR3 to them. */
void vm_init(const struct boot_mem *m);

void *phys_to_virt(uint64_t pa);
/* Guest-physical address of a kernel-image object (identity-mapped). */
uint64_t kernel_phys(const void *p);

uint64_t vm_ram_top(void);
uint64_t vm_free_frames(void);
uint64_t vm_alloc_frame(void); /* zeroed; 0 when none left */
/* Not written at all (for the balloon: a write would populate it in the
 * hypervisor), and never calls the shortage hook. */
uint64_t vm_alloc_frame_untouched(void);
void vm_free_frame(uint64_t pa); /* the frame is not touched */
/* Called when vm_alloc_frame finds no free frame; returns how many it
 * freed (then the allocation is tried once more). */
void vm_set_shortage_hook(uint64_t (*fn)(void));

/* Map/unmap one 4 KiB page; both INVLPG when a present entry changes.
 * vm_map_page returns 0 or a negative enum pt_error. */
int vm_map_page(uint64_t va, uint64_t pa, uint64_t flags);
uint64_t vm_unmap_page(uint64_t va);
int vm_walk(uint64_t va, struct pt_walk *w);
void vm_print_walk(uint64_t va);

/* Reserves `bytes` (rounded up to pages) of heap addresses; nothing is
 * mapped until touched.  Ends the guest if the heap area is exhausted. */
void *heap_alloc(uint64_t bytes, const char *what);

/* The #PF handler's first question: was this a demand fault in the heap?
 * Returns 1 when the fault is resolved and the access can be retried. */
int vm_handle_demand_fault(uint64_t addr, uint64_t error);

/* Where the faulting address sits, for the fatal #PF report. */
const char *vm_describe_area(uint64_t addr);

const struct vm_stats *vm_stats(void);

#endif
