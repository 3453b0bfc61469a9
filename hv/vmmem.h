/*
 * vmmem.h - a VM's guest-physical memory, seen from the hypervisor: the
 * p2m, populating pages, and copying to and from guest RAM.
 */
#ifndef HV_VMMEM_H
#define HV_VMMEM_H

#include "vm.h"
#include "../mm/pool.h"

/* Where every guest page's frame comes from (mm/pool.c). */
extern struct pool guest_pool;

/* Reserves the pool: bytes of contiguous host frames.  0 or -1. */
int guest_pool_init(u64 bytes, char *err, size_t errlen);

/* Why a page was populated (kept apart in the statistics). */
enum pop_reason {
	POP_LOADER,	/* the guest loader wrote the image or boot info */
	POP_SLAT,	/* first touch by the guest: a SLAT violation */
	POP_HV,		/* the hypervisor wrote guest memory (a hypercall) */
};

/* Sets up the p2m (all pages unpopulated) and the SLAT root.  0 or -1. */
int vmmem_init(struct vm *vm, const struct slat_format *fmt, char *err,
	       size_t errlen);
/* Frees every frame and table of the VM. */
void vmmem_destroy(struct vm *vm);

/*
 * The host frame backing gfn, populating it with a zeroed frame first if
 * it is unpopulated.  0 if the pool is exhausted.
 */
u64 vm_populate(struct vm *vm, u64 gfn, enum pop_reason why);

/* Gives a guest page's frame back to the pool (the caller has removed
 * every mapping of it and flushed the TLB). */
void vm_release_frame(struct vm *vm, u64 hpa);

/* Copies into guest RAM (populating pages); -1 outside RAM (nothing
 * written) or out of memory (the pages before the failure are written). */
int vm_write_phys(struct vm *vm, u64 gpa, const void *src, u64 len);
/* Copies from guest RAM (an unpopulated page reads as zeros); -1 outside. */
int vm_read_phys(struct vm *vm, u64 gpa, void *dst, u64 len);

/* True if [gpa, gpa+len) lies inside the VM's RAM. */
static inline bool vm_in_ram(const struct vm *vm, u64 gpa, u64 len)
{
	return gpa <= vm->mem_bytes && len <= vm->mem_bytes - gpa;
}

/*
 * Translates a guest-virtual address through the guest's own page tables
 * (paging off, or 4-level long-mode paging), reading them from guest RAM.
 * 0 with *gpa set, or -1 if not mapped or not translatable.
 */
int guest_virt_to_phys(struct vcpu *v, u64 va, u64 *gpa);
/* Reads the bytes at the guest's RIP (for decoding an exit); 0 or -1. */
int guest_read_insn(struct vcpu *v, u8 *dst, u64 len);

/*
 * Compares the SLAT tables with the p2m: every present leaf must map a
 * PRIVATE page's frame with full access, and nothing else may be mapped.
 * Returns the number of differences (each printed).
 */
u64 vmmem_check_slat(struct vm *vm);

#endif
