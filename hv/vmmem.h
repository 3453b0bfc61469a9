/*
 * vmmem.h - a VM's guest-physical memory, seen from the hypervisor: the
 * p2m, populating pages, and copying to and from guest RAM.
 */
#ifndef HV_VMMEM_H
#define HV_VMMEM_H

#include "vm.h"
#include "../arch/x86/cpu.h"
#include "../mm/pool.h"
#include "../mm/share.h"
#include "../mm/reclaim.h"
#include "../mm/swap.h"

/* Where every guest page's frame comes from (mm/pool.c). */
extern struct pool guest_pool;
/* The sharing scanner over every VM's memory (mm/share.c). */
extern struct share guest_share;
/* Swapping to the RAM-disk (mm/swap.c, mm/ramdisk.c). */
extern struct swap guest_swap;

/* Reserves the pool: bytes of contiguous host frames.  0 or -1. */
int guest_pool_init(u64 bytes, char *err, size_t errlen);
/* Sets up sharing over the pool (its hash table, the zero frame); VMs
 * created afterwards take part.  on=false: the scanner never runs.  0 or
 * -1. */
int guest_share_init(bool on, char *err, size_t errlen);
/* Reserves a RAM-disk of bytes (0: no swapping) for swapping over the
 * pool, with background swapping between low_pct and high_pct percent of
 * the pool free.  0 or -1. */
int guest_swap_init(u64 bytes, u64 low_pct, u64 high_pct, char *err,
		    size_t errlen);

/* The reclaim policy over the pool (mm/reclaim.c). */
extern struct reclaim guest_reclaim;

/* Sets the policy up for the pool (after guest_pool_init and
 * guest_swap_init): the free-memory states in percent of the pool (high,
 * soft, hard, low), the idle memory tax and the balloon bound, percent. */
void guest_reclaim_init(const unsigned pct[4], unsigned idle_tax,
			unsigned balloon_max);

/* Sets up the VM's guest memory (mm/gmem.c): the p2m, all pages
 * unpopulated, and the SLAT root in the backend's format.  0 or -1. */
int vmmem_init(struct vm *vm, const struct slat_format *fmt, char *err,
	       size_t errlen);
/*
 * For a vCPU waiting for a frame (vm->wants_frame, set by the SLAT
 * violation that found none): tries sharing's and swapping's reclaim
 * again; true (no longer waiting) if a frame is free.  Otherwise stops the
 * VM "out of memory" when nothing can free one (no VM in `runnable`, a
 * mask of VM ids, whose balloon could still give: reclaim_can_free), or
 * when waited_too_long; false.
 */
bool vmmem_frame_ready(struct vm *vm, u32 runnable, bool waited_too_long);

/* Flushes and frees every frame and table of the VM (before its vCPU is
 * destroyed: the flush goes through the vCPU). */
void vmmem_destroy(struct vm *vm);

/* Copies into guest RAM (populating pages); -1 outside RAM or out of
 * memory, and then nothing is written (mm/gmem.c: gmem_write). */
int vm_write_phys(struct vm *vm, u64 gpa, const void *src, u64 len);
/* Copies from guest RAM (a page without a frame reads as zeros); -1
 * outside. */
int vm_read_phys(struct vm *vm, u64 gpa, void *dst, u64 len);

/* The PC's legacy VGA/BIOS hole, which the guest's memory map reports as
 * reserved (hv/guest_load.c).  The p2m backs it like RAM, so a guest that
 * touches it anyway is not stopped. */
#define LEGACY_HOLE_START 0xa0000ull
#define LEGACY_HOLE_END 0x100000ull

/*
 * True if [gpa, gpa+len) is RAM as the guest's memory map describes it:
 * inside [0, size) and clear of the reserved legacy hole.  Hypercalls take
 * only such buffers and gfns (docs/guest-abi.md, "Buffers"): what the map
 * calls reserved is not the guest's to hand over, even if it is backed.
 */
static inline bool vm_in_ram(const struct vm *vm, u64 gpa, u64 len)
{
	if (gpa > vm->mem_bytes || len > vm->mem_bytes - gpa)
		return false;
	return !len || gpa + len <= LEGACY_HOLE_START ||
	       gpa >= LEGACY_HOLE_END;
}

/*
 * Translates a guest-virtual address through the guest's own page tables
 * (paging off, or 4-level long-mode paging), reading them from guest RAM.
 * 0 with *gpa set, or -1 if not mapped or not translatable.
 */
int guest_virt_to_phys(struct vcpu *v, u64 va, u64 *gpa);
/* The same for a data access the hypervisor makes on the guest's behalf
 * (string I/O): it also fails where the guest's entries forbid the access
 * (GVA_WRITE: R/W, honouring CR0.WP; GVA_USER: U/S), and sets the
 * accessed and dirty bits as the CPU would.  access 0 is a plain walk
 * (a read that sets nothing). */
#define GVA_READ 0x4u
#define GVA_WRITE 0x1u
#define GVA_USER 0x2u
int guest_virt_to_phys_access(struct vcpu *v, u64 va, unsigned access,
			      u64 *gpa);
/* Reads the bytes at the guest's RIP (for decoding an exit); 0 or -1. */
int guest_read_insn(struct vcpu *v, u8 *dst, u64 len);

/*
 * Shadow paging (vm=...,paging=shadow): the paging registers the CPU runs
 * a shadow-paged vCPU with, from those the guest sees (vcpu->cr0/cr3/cr4/
 * efer).  Paging is always on under the guest, through the shadow root of
 * its CR3 (mm/shadow.c shadow_load), with CR0.WP set so that read-only
 * shadow leaves bind the guest's kernel too; with the guest's paging off
 * that root is a PAE identity tree, so CR4.PAE is set and EFER.LME/LMA
 * are kept from the CPU.  NULL, or why the guest's mode is not shadowed
 * (real mode; 32-bit or PAE paging outside long mode).
 */
struct shadow_cpu {
	u64 cr0, cr3, cr4, efer;
};
/* CR4 features a shadow-paged guest is refused (#GP): PCIDs, 5-level
 * paging, protection keys and CET's shadow stacks change what a walk or a
 * leaf means in ways the shadow MMU does not model (mm/shadow.h). */
#define SHADOW_CR4_REFUSED (CR4_PCIDE | CR4_LA57 | CR4_PKE | CR4_PKS | CR4_CET)
const char *vmmem_shadow_cpu(struct vcpu *v, struct shadow_cpu *c);
/* shadow_rmap=on|off: whether shadow VMs created from now on keep the
 * reverse map (mm/shadow.h); off, every p2m change drops all their
 * shadows (default on). */
extern bool vmmem_shadow_rmap;

/* The end-of-VM self-check of the guest-memory invariants (gmem_check):
 * the number of differences, each printed. */
u64 vmmem_check(struct vm *vm);

/* Prints the sharing oracle's line (mm/share.c: share_oracle): what
 * sharing saves now, and what perfect sharing would. */
void vmmem_print_oracle(const char *when);

#endif
