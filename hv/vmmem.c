/*
 * vmmem.c - the hypervisor's glue to guest memory (mm/gmem.c).
 *
 * mm/gmem.c owns every decision about a guest page.  This file supplies
 * what it needs from the machine: the guest pool, frames for p2m arrays
 * and SLAT tables from the hypervisor's frame allocator, the identity map
 * to reach them, and the backend's TLB flush.  It also walks the guest's
 * own page tables for the exit handlers.
 */
#include "vmmem.h"
#include "../arch/x86/cpu.h"
#include "../mm/gwalk.h"
#include "console.h"
#include "exit.h"
#include "finish.h"
#include "fmt.h"
#include "hvmem.h"
#include "string.h"

struct pool guest_pool;
struct share guest_share;
struct swap guest_swap;
struct reclaim guest_reclaim;
static struct blockdev swap_disk;
static u32 *share_census;	/* scratch for share_check() */

int guest_pool_init(u64 bytes, char *err, size_t errlen)
{
	u64 n = bytes / PAGE_SIZE;
	u64 meta_frames = ALIGN_UP(n * sizeof(struct frame_meta), PAGE_SIZE) /
			  PAGE_SIZE;
	u64 base = frame_alloc_contig(&frames, n, 1);
	u64 meta = base ? hv_frames_alloc(meta_frames, 1) : 0;

	if (!base || !meta) {
		if (base)
			hv_frames_free(base, n);
		fmt_snprintf(err, errlen, "pool: cannot reserve %llu MiB of "
			     "contiguous frames (%llu MiB free)",
			     (unsigned long long)(bytes / MiB),
			     (unsigned long long)(frames.st.free * PAGE_SIZE /
						  MiB));
		return -1;
	}
	pool_init(&guest_pool, base, n, hv_ptr(meta));
	return 0;
}

static void *frame_bytes(void *ctx, u64 hpa)
{
	(void)ctx;
	return hv_ptr(hpa);
}

int guest_share_init(bool on, char *err, size_t errlen)
{
	u64 nbuckets = 64;

	while (nbuckets < guest_pool.nframes / 2)
		nbuckets *= 2;
	u64 bucket_frames = ALIGN_UP(nbuckets * sizeof(u32), PAGE_SIZE) /
			    PAGE_SIZE;
	u64 census_frames = ALIGN_UP(guest_pool.nframes * sizeof(u32),
				     PAGE_SIZE) / PAGE_SIZE;
	u64 buckets = hv_frames_alloc(bucket_frames, 1);
	u64 census = hv_frames_alloc(census_frames, 1);
	u64 zero = hv_frame_alloc();

	if (!buckets || !census || !zero) {
		fmt_snprintf(err, errlen, "share: no room for %llu hash buckets "
			     "and the zero frame", (unsigned long long)nbuckets);
		return -1;
	}
	share_init(&guest_share, on, &guest_pool, frame_bytes, NULL,
		   hv_ptr(buckets), nbuckets, zero);
	share_census = hv_ptr(census);
	return 0;
}

int guest_swap_init(u64 bytes, u64 low_pct, u64 high_pct, char *err,
		    size_t errlen)
{
	u64 nblocks = bytes / PAGE_SIZE;
	u64 low = guest_pool.nframes * low_pct / 100;
	u64 high = guest_pool.nframes * high_pct / 100;

	if (!nblocks) {
		swap_init(&guest_swap, NULL, &guest_pool, NULL, 0, 0);
		return 0;
	}
	u64 table_frames = ALIGN_UP(nblocks * sizeof(u64), PAGE_SIZE) /
			   PAGE_SIZE;
	u64 disk = frame_alloc_contig(&frames, nblocks, 1);
	u64 table = disk ? hv_frames_alloc(table_frames, 1) : 0;
	if (!disk || !table) {
		if (disk)
			hv_frames_free(disk, nblocks);
		fmt_snprintf(err, errlen, "swap: no room for a %llu MiB RAM-disk "
			     "(%llu MiB free)", (unsigned long long)(bytes / MiB),
			     (unsigned long long)(frames.st.free * PAGE_SIZE /
						  MiB));
		return -1;
	}
	ramdisk_init(&swap_disk, hv_ptr(disk), nblocks);
	swap_init(&guest_swap, &swap_disk, &guest_pool, hv_ptr(table),
		  MAX(low, 1), MAX(high, 2));
	return 0;
}

static u64 table_alloc(void *ctx)
{
	(void)ctx;
	return hv_frame_alloc();
}

static void table_free(void *ctx, u64 hpa)
{
	(void)ctx;
	hv_frames_free(hpa, 1);
}

static void *table_ptr(void *ctx, u64 hpa)
{
	(void)ctx;
	return hv_ptr(hpa);
}

/* The backend's invalidation of every guest-physical translation of this
 * VM; mm/ calls it when a change it made owes one. */
static void tlb_flush(void *ctx)
{
	struct vm *vm = ctx;

	if (vm->shadow)		/* the TLB, and the shadows if need be */
		shadow_p2m_flush(vm->shadow);
	else
		backend->flush_slat(vm);
}

/* A shadow VM's SLAT tree changed a present leaf: the shadow leaves that
 * map the page go now (mm/shadow.c, the reverse map). */
static void p2m_unmapped(void *ctx, u64 gpa, u64 old_hpa)
{
	struct vm *vm = ctx;

	if (vm->shadow)		/* none before shadow_setup() */
		shadow_p2m_unmapped(vm->shadow, gpa, old_hpa);
}

/* ... and the clock asks whether one was used: the shadow leaves say. */
static int p2m_sample(void *ctx, u64 gpa, u64 hpa)
{
	struct vm *vm = ctx;

	return vm->shadow ? shadow_sample(vm->shadow, gpa, hpa) : -1;
}

bool vmmem_shadow_rmap = true;

/* The shadow MMU's own flush: the guest's TLB (its ASID or VPID). */
static void shadow_tlb_flush(void *ctx)
{
	struct vm *vm = ctx;

	backend->flush_slat(vm);
}

static struct shadow shadows[VM_MAX];

/* Reverse-map entries of a shadow VM: twice its pages and some, enough for
 * every page mapped at two addresses and the dirty-bit upgrades between
 * two whole flushes; when full it falls back to those (counted). */
static u64 shadow_rmap_cap(const struct vm *vm)
{
	return vmmem_shadow_rmap ? 2 * vm->npages + 4096 : 0;
}

/* The shadow MMU's bookkeeping (mm/shadow.h) for the VM, in frames. */
static u64 shadow_meta_frames(const struct vm *vm)
{
	return ALIGN_UP(shadow_meta_bytes(vm->npages, shadow_rmap_cap(vm)),
			PAGE_SIZE) / PAGE_SIZE;
}

/* The shadow MMU of a VM with shadow_paging, over its gmem; 0 or -1. */
static int shadow_setup(struct vm *vm, char *err, size_t errlen)
{
	const struct slat_env env = { table_alloc, table_free, table_ptr,
				      shadow_tlb_flush, vm, NULL, NULL };
	u64 meta = hv_frames_alloc(shadow_meta_frames(vm), 1);

	if (meta && shadow_init(&shadows[vm->id], &vm->mem, &env, hv_ptr(meta),
				shadow_rmap_cap(vm)) == 0) {
		vm->shadow = &shadows[vm->id];
		return 0;
	}
	if (meta)
		hv_frames_free(meta, shadow_meta_frames(vm));
	fmt_snprintf(err, errlen, "%s: no frames for its shadow page tables",
		     vm->name);
	return -1;
}

const char *vmmem_shadow_cpu(struct vcpu *v, struct shadow_cpu *c)
{
	const struct gwalk_regs g = { v->cr0, v->cr3, v->cr4, v->efer };
	bool paging = v->cr0 & CR0_PG;

	if (!(v->cr0 & CR0_PE))
		return "real mode (CR0.PE = 0) is not shadowed";
	if (paging && !(v->efer & EFER_LMA))
		return "paging outside long mode (32-bit or PAE paging) is "
		       "not shadowed";
	c->cr3 = shadow_load(v->vm->shadow, &g);
	c->cr0 = v->cr0 | CR0_PG | CR0_WP;
	c->cr4 = v->cr4 | CR4_PAE;
	c->efer = v->efer;
	if (!paging) {
		/* Nothing the guest set for paging applies yet. */
		c->cr4 &= ~(CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PKE);
		c->efer &= ~(EFER_LME | EFER_LMA);
		if (c->cr3 >> 32)
			return "the paging-off shadow root lies above 4 GiB "
			       "(a PAE CR3 holds 32 bits)";
	}
	return NULL;
}

static u64 p2m_frames(const struct vm *vm)
{
	return ALIGN_UP(vm->npages * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
}

int vmmem_init(struct vm *vm, const struct slat_format *fmt, char *err,
	       size_t errlen)
{
	u64 pa = hv_frames_alloc(p2m_frames(vm), 1);
	struct slat_env env = { table_alloc, table_free, table_ptr, tlb_flush,
				vm, vm->shadow_paging ? p2m_unmapped : NULL,
				vm->shadow_paging ? p2m_sample : NULL };

	if (!pa) {
		fmt_snprintf(err, errlen,
			     "%s: no %llu contiguous frames for the p2m of %llu "
			     "pages", vm->name,
			     (unsigned long long)p2m_frames(vm),
			     (unsigned long long)vm->npages);
		return -1;
	}
	if (vm->shadow_paging)		/* a record no CPU walks */
		fmt = &shadow_vslat_format;
	if (gmem_init(&vm->mem, (unsigned)vm->id, vm->npages, hv_ptr(pa),
		      &guest_pool, fmt, &env) < 0) {
		hv_frames_free(pa, p2m_frames(vm));
		vm->mem.p2m.entries = NULL;
		fmt_snprintf(err, errlen, "%s: no frame for the %s root",
			     vm->name, fmt->name);
		return -1;
	}
	if (guest_share.buckets)
		share_attach(&guest_share, &vm->mem, vm->share_group);
	if (swap_on(&guest_swap))
		swap_attach(&guest_swap, &vm->mem);
	vm->mem.balloon.shares = vm->shares;
	reclaim_attach(&guest_reclaim, &vm->mem);
	if (vm->shadow_paging && shadow_setup(vm, err, errlen) < 0) {
		vmmem_destroy(vm);
		return -1;
	}
	return 0;
}

void guest_reclaim_init(const unsigned pct[4], unsigned idle_tax,
			unsigned balloon_max)
{
	struct reclaim_params par = {
		.th = mem_thresholds_from_pct(guest_pool.nframes, pct[0],
					      pct[1], pct[2], pct[3]),
		.idle_tax = idle_tax,
		.balloon_max = balloon_max,
	};

	reclaim_init(&guest_reclaim, &guest_pool, &guest_swap, &par);
}

static void stop_out_of_memory(struct vm *vm, const char *why)
{
	u64 gpa = vm->wait_gpa;

	if (swap_on(&guest_swap) && guest_swap.used == guest_swap.nslots)
		vm_stop(vm, "out of memory: pool %llu frames and swap %llu slots "
			"all in use, at GPA 0x%llx%s",
			(unsigned long long)guest_pool.nframes,
			(unsigned long long)guest_swap.nslots,
			(unsigned long long)gpa, why);
	else if (swap_on(&guest_swap))
		vm_stop(vm, "out of memory: pool %llu frames in use and nothing "
			"could be swapped out (swap %llu of %llu slots in use), "
			"at GPA 0x%llx%s",
			(unsigned long long)guest_pool.nframes,
			(unsigned long long)guest_swap.used,
			(unsigned long long)guest_swap.nslots,
			(unsigned long long)gpa, why);
	else
		vm_stop(vm, "out of guest memory (pool %llu frames, %llu in use) "
			"at GPA 0x%llx%s",
			(unsigned long long)guest_pool.nframes,
			(unsigned long long)pool_used(&guest_pool),
			(unsigned long long)gpa, why);
}

bool vmmem_frame_ready(struct vm *vm, u32 runnable, bool waited_too_long)
{
	if (guest_pool.st.free == 0) {
		gmem_settle(&vm->mem);
		if (guest_share.on)
			share_reclaim(&guest_share);
		if (guest_pool.st.free == 0 && swap_on(&guest_swap))
			swap_reclaim(&guest_swap, 1);
	}
	if (guest_pool.st.free > 0) {
		vm->wants_frame = false;
		return true;
	}
	if (!reclaim_can_free(&guest_reclaim, &vm->mem, runnable))
		stop_out_of_memory(vm, "");
	else if (waited_too_long)
		stop_out_of_memory(vm, "; waited too long for the other VMs' "
				       "balloons");
	return false;
}

void vmmem_destroy(struct vm *vm)
{
	u64 *p2m = vm->mem.p2m.entries;

	if (!p2m)
		return;
	reclaim_detach(&guest_reclaim, &vm->mem);
	gmem_destroy(&vm->mem);	/* its last flush drops every shadow */
	if (vm->shadow) {
		shadow_destroy(vm->shadow);
		hv_frames_free((u64)vm->shadow->gfn_flags,
			       shadow_meta_frames(vm));
		vm->shadow = NULL;
	}
	hv_frames_free((u64)p2m, p2m_frames(vm));
}

int vm_write_phys(struct vm *vm, u64 gpa, const void *src, u64 len)
{
	int r = gmem_write(&vm->mem, gpa, src, len,
			   vm->state == VM_LOADING ? GMEM_BY_LOADER
						   : GMEM_BY_HV);

	/* Not through a shadow leaf: a guest page table it changed must not
	 * leave shadows derived from the old bytes. */
	if (r == 0 && vm->shadow && len)
		for (u64 gfn = gpa / PAGE_SIZE;
		     gfn <= (gpa + len - 1) / PAGE_SIZE; gfn++)
			shadow_hv_wrote(vm->shadow, gfn);
	return r;
}

int vm_read_phys(struct vm *vm, u64 gpa, void *dst, u64 len)
{
	return gmem_read(&vm->mem, gpa, dst, len);
}

static int walk_read(void *ctx, u64 gpa, u64 *value)
{
	return vm_read_phys(ctx, gpa, value, sizeof(*value));
}

static int walk_write(void *ctx, u64 gpa, u64 value)
{
	return vm_write_phys(ctx, gpa, &value, sizeof(value));
}

int guest_virt_to_phys_access(struct vcpu *v, u64 va, unsigned access,
			      u64 *gpa)
{
	const struct gwalk_regs r = { .cr0 = v->cr0, .cr3 = v->cr3,
				      .cr4 = v->cr4, .efer = v->efer };
	const struct gwalk_env env = { walk_read, walk_write, v->vm };
	unsigned how = (access & GVA_WRITE ? PFERR_W : 0) |
		       (access & GVA_USER ? PFERR_U : 0) |
		       (access ? GWALK_SET_AD : 0);
	struct gwalk w;

	if (gwalk(&r, va, how, &env, &w) != GWALK_OK)
		return -1;
	*gpa = w.gpa;
	return 0;
}

int guest_virt_to_phys(struct vcpu *v, u64 va, u64 *gpa)
{
	return guest_virt_to_phys_access(v, va, 0, gpa);
}

/* With shadow paging, the bytes the CPU fetched are those its shadow leaf
 * maps, whatever the guest's tables say now. */
int guest_read_insn(struct vcpu *v, u8 *dst, u64 len)
{
	for (u64 i = 0; i < len; i++) {
		u64 gpa, hpa;
		if (v->vm->shadow &&
		    shadow_translate(v->vm->shadow, v->regs.rip + i, &hpa)) {
			dst[i] = *(const u8 *)hv_ptr(hpa);
			continue;
		}
		if (guest_virt_to_phys(v, v->regs.rip + i, &gpa) < 0 ||
		    vm_read_phys(v->vm, gpa, dst + i, 1) < 0)
			return -1;
	}
	return 0;
}

static void check_report(void *ctx, const char *fmt, ...)
{
	const struct vm *vm = ctx;
	char line[200];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	hv_log("%s: %s", vm->name, line);
}

u64 vmmem_check(struct vm *vm)
{
	u64 diffs = gmem_check(&vm->mem, check_report, vm);

	if (guest_share.buckets)
		diffs += share_check(&guest_share, share_census, check_report,
				     vm);
	if (swap_on(&guest_swap))
		diffs += swap_check(&guest_swap, check_report, vm);
	if (vm->shadow)
		diffs += shadow_check(vm->shadow, check_report, vm, NULL);
	return diffs;
}

/* "share: saved S of P possible frames (X%)", by the exhaustive oracle
 * over every VM that has memory now; prefix says when. */
void vmmem_print_oracle(const char *when)
{
	u64 resident = share_resident(&guest_share);
	u64 nframes = ALIGN_UP(MAX(resident, 1) * 16, PAGE_SIZE) / PAGE_SIZE;
	u64 scratch = hv_frames_alloc(nframes, 1);

	if (!scratch) {
		hv_log("share: no room for the oracle's %llu pages of scratch",
		       (unsigned long long)nframes);
		return;
	}
	struct share_oracle o = share_oracle(&guest_share, hv_ptr(scratch));
	u64 saved = share_saved(&o), possible = share_possible(&o);
	hv_frames_free(scratch, nframes);
	hv_log("share: saved %llu of %llu possible frames (%llu.%llu%%) %s; "
	       "%llu resident pages in %llu frames, %llu with perfect sharing",
	       (unsigned long long)saved, (unsigned long long)possible,
	       (unsigned long long)(possible ? saved * 100 / possible : 100),
	       (unsigned long long)(possible ? saved * 1000 / possible % 10
					     : 0),
	       when, (unsigned long long)o.resident,
	       (unsigned long long)o.used, (unsigned long long)o.ideal);
}
