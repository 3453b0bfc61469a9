/*
 * vmmem.c - the hypervisor's view of guest-physical memory.
 *
 * The p2m (mm/p2m.c) says what every guest page is; the SLAT tables
 * (mm/slat.c, in the backend's EPT or NPT format) are derived from it on
 * demand, one 4 KiB leaf per guest page touched.  This file owns the glue:
 * frames for p2m arrays and tables come from the hypervisor's frame
 * allocator, guest RAM is reached through the identity map.
 */
#include "vmmem.h"
#include "console.h"
#include "finish.h"
#include "fmt.h"
#include "hvmem.h"
#include "string.h"

struct pool guest_pool;

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

static const struct slat_env slat_env = { table_alloc, table_free,
					  table_ptr, NULL };

static u64 p2m_frames(const struct vm *vm)
{
	return ALIGN_UP(vm->npages * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
}

int vmmem_init(struct vm *vm, const struct slat_format *fmt, char *err,
	       size_t errlen)
{
	u64 pa = hv_frames_alloc(p2m_frames(vm), 1);

	if (!pa) {
		fmt_snprintf(err, errlen,
			     "%s: no %llu contiguous frames for the p2m of %llu "
			     "pages", vm->name,
			     (unsigned long long)p2m_frames(vm),
			     (unsigned long long)vm->npages);
		return -1;
	}
	p2m_init(&vm->p2m, hv_ptr(pa), vm->npages);
	if (slat_init(&vm->slat, fmt, &slat_env) < 0) {
		hv_frames_free(pa, p2m_frames(vm));
		vm->p2m.entries = NULL;
		fmt_snprintf(err, errlen, "%s: no frame for the %s root",
			     vm->name, fmt->name);
		return -1;
	}
	return 0;
}

void vmmem_destroy(struct vm *vm)
{
	if (!vm->p2m.entries)
		return;
	slat_destroy(&vm->slat);
	for (u64 gfn = 0; gfn < vm->npages; gfn++)
		if (p2m_state(&vm->p2m, gfn) == P2M_PRIVATE) {
			vm_release_frame(vm, p2m_value(&vm->p2m, gfn));
			p2m_set(&vm->p2m, gfn, P2M_UNPOPULATED, 0);
		}
	hv_frames_free((u64)vm->p2m.entries, p2m_frames(vm));
	vm->p2m.entries = NULL;
}

u64 vm_populate(struct vm *vm, u64 gfn, enum pop_reason why)
{
	if (p2m_state(&vm->p2m, gfn) == P2M_PRIVATE)
		return p2m_value(&vm->p2m, gfn);

	u64 hpa = pool_alloc(&guest_pool, (unsigned)vm->id, gfn);
	if (!hpa)
		return 0;
	memset(hv_ptr(hpa), 0, PAGE_SIZE);	/* demand-zero */
	p2m_set(&vm->p2m, gfn, P2M_PRIVATE, hpa);
	vm->stats.resident_max = MAX(vm->stats.resident_max,
				     vm->p2m.count[P2M_PRIVATE]);
	if (why == POP_LOADER)
		vm->stats.pages_loaded++;
	else if (why == POP_SLAT)
		vm->stats.slat_populations++;
	else
		vm->stats.hv_populations++;
	return hpa;
}

void vm_release_frame(struct vm *vm, u64 hpa)
{
	if (pool_free(&guest_pool, hpa) < 0)
		panic("%s: frame 0x%llx is not an allocated pool frame",
		      vm->name, (unsigned long long)hpa);
}

int vm_write_phys(struct vm *vm, u64 gpa, const void *src, u64 len)
{
	const u8 *s = src;

	if (!vm_in_ram(vm, gpa, len))
		return -1;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - gpa % PAGE_SIZE);
		u64 hpa = vm_populate(vm, gpa / PAGE_SIZE,
				      vm->state == VM_LOADING ? POP_LOADER
							      : POP_HV);
		if (!hpa)
			return -1;
		memcpy(hv_ptr(hpa + gpa % PAGE_SIZE), s, chunk);
		s += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int vm_read_phys(struct vm *vm, u64 gpa, void *dst, u64 len)
{
	u8 *d = dst;

	if (!vm_in_ram(vm, gpa, len))
		return -1;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - gpa % PAGE_SIZE);
		u64 gfn = gpa / PAGE_SIZE;
		if (p2m_state(&vm->p2m, gfn) == P2M_PRIVATE)
			memcpy(d, hv_ptr(p2m_value(&vm->p2m, gfn) +
					 gpa % PAGE_SIZE), chunk);
		else
			memset(d, 0, chunk);
		d += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Guest page-table entry bits (the guest's own tables, SDM Vol. 3A 4.5). */
#define GPTE_P (1ull << 0)
#define GPTE_PS (1ull << 7)
#define GPTE_ADDR 0x000ffffffffff000ull
#define GCR0_PG (1ull << 31)
#define GEFER_LMA (1ull << 10)

int guest_virt_to_phys(struct vcpu *v, u64 va, u64 *gpa)
{
	u64 table = v->cr3 & GPTE_ADDR;

	if (!(v->cr0 & GCR0_PG)) {
		*gpa = va;
		return 0;
	}
	if (!(v->efer & GEFER_LMA))
		return -1;	/* 32-bit paging modes: not needed yet */
	for (int level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		u64 e;
		if (vm_read_phys(v->vm, table + ((va >> shift) & 511) * 8, &e,
				 sizeof(e)) < 0 ||
		    !(e & GPTE_P))
			return -1;
		if (level == 1 || (level <= 3 && (e & GPTE_PS))) {
			u64 page = 1ull << shift;
			*gpa = (e & GPTE_ADDR & ~(page - 1)) | (va & (page - 1));
			return 0;
		}
		table = e & GPTE_ADDR;
	}
	return -1;
}

int guest_read_insn(struct vcpu *v, u8 *dst, u64 len)
{
	for (u64 i = 0; i < len; i++) {
		u64 gpa;
		if (guest_virt_to_phys(v, v->regs.rip + i, &gpa) < 0 ||
		    vm_read_phys(v->vm, gpa, dst + i, 1) < 0)
			return -1;
	}
	return 0;
}

struct check_ctx {
	struct vm *vm;
	u64 leaves, differences;
};

static void check_leaf(void *arg, u64 gpa, u64 entry)
{
	struct check_ctx *c = arg;
	struct vm *vm = c->vm;
	const struct slat_format *f = vm->slat.fmt;
	u64 gfn = gpa / PAGE_SIZE;

	c->leaves++;
	if (gfn >= vm->npages) {
		hv_log("%s: self-check: %s maps GPA 0x%llx beyond RAM", vm->name,
		       f->name, (unsigned long long)gpa);
		c->differences++;
	} else if (p2m_state(&vm->p2m, gfn) != P2M_PRIVATE ||
		   f->address(entry) != p2m_value(&vm->p2m, gfn) ||
		   f->perms(entry) != SLAT_RWX) {
		hv_log("%s: self-check: GPA 0x%llx: %s entry 0x%llx, p2m says "
		       "%s 0x%llx", vm->name, (unsigned long long)gpa, f->name,
		       (unsigned long long)entry,
		       p2m_state_name(p2m_state(&vm->p2m, gfn)),
		       (unsigned long long)p2m_value(&vm->p2m, gfn));
		c->differences++;
	}
}

u64 vmmem_check_slat(struct vm *vm)
{
	struct check_ctx c = { vm, 0, 0 };

	/* The p2m and the pool's records must agree on who owns what. */
	for (u64 gfn = 0; gfn < vm->npages; gfn++) {
		if (p2m_state(&vm->p2m, gfn) != P2M_PRIVATE)
			continue;
		u64 hpa = p2m_value(&vm->p2m, gfn);
		struct frame_meta *m = pool_meta(&guest_pool, hpa);
		if (!m || m->state != FRAME_PRIVATE ||
		    m->owner != (u64)vm->id + 1 || m->gfn != gfn) {
			hv_log("%s: self-check: gfn 0x%llx -> frame 0x%llx, but "
			       "the pool says owner %d gfn 0x%llx state %d",
			       vm->name, (unsigned long long)gfn,
			       (unsigned long long)hpa,
			       m ? (int)m->owner - 1 : -1,
			       m ? (unsigned long long)m->gfn : 0ull,
			       m ? (int)m->state : -1);
			c.differences++;
		}
	}

	slat_for_each_leaf(&vm->slat, check_leaf, &c);
	if (c.leaves != vm->slat.leaves) {
		hv_log("%s: self-check: walked %llu leaves, counter says %llu",
		       vm->name, (unsigned long long)c.leaves,
		       (unsigned long long)vm->slat.leaves);
		c.differences++;
	}
	return c.differences;
}
