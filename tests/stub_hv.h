/*
 * stub_hv.h - the host stand-ins under the real hypervisor core
 * (tests/stub_hv.c): identity-mapped "physical" memory, a console buffer,
 * panic() that jumps back to the test, and a recording backend.
 */
#ifndef TESTS_STUB_HV_H
#define TESTS_STUB_HV_H

#include <setjmp.h>

#include "../hv/vm.h"

/* Host memory at a fixed address, so physical address == pointer. */
#define STUB_PHYS_BASE 0x40000000ull
#define STUB_PHYS_BYTES (64 * MiB)

/* (Re)initializes the frame allocator over the region, the guest pool
 * (guest_pool_init), the backend and the recorders; sharing is reset to
 * "not set up" (guest_share zeroed: VMs created now are not attached). */
void stub_phys_init(u64 pool_bytes);
/* Sets up sharing over the pool as hv/run.c does (guest_share_init), after
 * stub_phys_init and before the VMs; its hash table, census and zero frame
 * stay allocated, so stub_frames_free_at_start is taken again after them. */
void stub_share_init(bool on);
/* Sets up swapping as hv/run.c does (guest_swap_init: a RAM-disk of
 * `bytes`, 0 = off, background watermarks low_pct/high_pct of the pool),
 * after stub_phys_init (and stub_share_init, if any) and before the VMs,
 * which vmmem_init() then attaches; the disk and its slot table stay
 * allocated, so stub_frames_free_at_start is taken again after them. */
void stub_swap_init(u64 bytes, u64 low_pct, u64 high_pct);
/* Sets up the reclaim policy as hv/run.c does (guest_reclaim_init), after
 * stub_swap_init (if any) and before the VMs, which vmmem_init() attaches:
 * the states in percent of the pool, the idle tax, the balloon bound. */
void stub_reclaim_init(unsigned high, unsigned soft, unsigned hard,
		       unsigned low, unsigned idle_tax, unsigned balloon_max);
/* frames.st.free right after stub_phys_init(). */
extern u64 stub_frames_free_at_start;

void stub_log_clear(void);
bool stub_log_has(const char *s);
const char *stub_log(void);

/* Armed by a test: panic()/hv_fail() longjmp there (once) with the
 * message in stub_panic_msg; unarmed they print it and abort. */
extern jmp_buf *stub_panic_jmp;
extern char stub_panic_msg[512];

extern const struct backend_ops stub_backend;
extern u64 stub_flushes[VM_MAX];	/* flush_slat calls per VM id */
extern u64 stub_injected;
extern u8 stub_injected_vector;
extern void (*stub_on_flush)(struct vm *vm);
/* The last reflected #PF (inject_page_fault); set stub_pf_triple to have
 * the backend answer "triple fault". */
extern u64 stub_pf_va;
extern u32 stub_pf_error;
extern bool stub_pf_triple;

/* A VM as hv/run.c builds it (id, "vmN", RAM, vCPU, RUNNING), with its
 * memory from the real vmmem_init().  0 or -1. */
int stub_vm_create(struct vm *vm, int id, u64 mem_bytes,
		   const struct slat_format *fmt);
/* The same in sharing group `group` (vm->share_group, set before
 * vmmem_init() as hv/run.c sets it). */
int stub_vm_create_in(struct vm *vm, int id, u64 mem_bytes,
		      const struct slat_format *fmt, unsigned group);

/* The same with shadow paging (vm->shadow_paging): its memory gets its
 * shadow MMU from vmmem_init(), whose flushes reach stub_on_flush. */
int stub_vm_create_shadow(struct vm *vm, int id, u64 mem_bytes);

/* The present SLAT leaf of vm's gfn, or NULL (for setting the flags the
 * CPU would set). */
u64 *stub_leaf(struct vm *vm, u64 gfn);

#endif
