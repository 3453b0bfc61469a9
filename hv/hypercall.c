/*
 * hypercall.c - the hypervisor side of the guest's calls.
 *
 * Every call validates all of its arguments before it changes anything, so
 * a failing call changes no state (guest ABI).  A gfn list is read from
 * guest memory in chunks; duplicates are found by marking p2m entries
 * (P2M_MARK) during the check and clearing the marks afterwards, which
 * needs no allocation whatever the list's length.
 */
#include "hypercall.h"
#include "exit.h"
#include "hvmem.h"
#include "vmmem.h"

#define MEMSTAT_COUNTERS 6
#define GFN_CHUNK 64

static s64 check_gfn_list(struct vm *vm, u64 gpa, u64 count,
			  enum p2m_state want_ballooned)
{
	u64 gfns[GFN_CHUNK];
	s64 rc = 0;
	u64 marked = 0;

	/* The array first (-EFAULT), then its contents (-EINVAL); a list
	 * longer than the VM has pages must hold a duplicate or a bad gfn
	 * and is caught by the marks. */
	if (count > vm->mem_bytes / sizeof(u64) ||
	    !vm_in_ram(vm, gpa, count * sizeof(u64)))
		return -HC_EFAULT;
	for (u64 i = 0; i < count && !rc; i += GFN_CHUNK) {
		u64 n = MIN(GFN_CHUNK, count - i);
		vm_read_phys(vm, gpa + i * sizeof(u64), gfns, n * sizeof(u64));
		for (u64 k = 0; k < n; k++) {
			u64 g = gfns[k];
			bool ballooned = g < vm->npages &&
					 p2m_state(&vm->p2m, g) == P2M_BALLOONED;
			if (g >= vm->npages || p2m_marked(&vm->p2m, g) ||
			    ballooned != (want_ballooned == P2M_BALLOONED)) {
				rc = -HC_EINVAL;
				break;
			}
			p2m_mark(&vm->p2m, g, true);
			marked++;
		}
	}
	/* Clear exactly the marks we set (the first `marked` entries). */
	for (u64 i = 0; i < marked; i += GFN_CHUNK) {
		u64 n = MIN(GFN_CHUNK, marked - i);
		vm_read_phys(vm, gpa + i * sizeof(u64), gfns, n * sizeof(u64));
		for (u64 k = 0; k < n; k++)
			p2m_mark(&vm->p2m, gfns[k], false);
	}
	return rc;
}

/* Applies fn to every gfn of a list check_gfn_list() accepted. */
static void for_each_gfn(struct vm *vm, u64 gpa, u64 count,
			 void (*fn)(struct vm *, u64))
{
	u64 gfns[GFN_CHUNK];

	for (u64 i = 0; i < count; i += GFN_CHUNK) {
		u64 n = MIN(GFN_CHUNK, count - i);
		vm_read_phys(vm, gpa + i * sizeof(u64), gfns, n * sizeof(u64));
		for (u64 k = 0; k < n; k++)
			fn(vm, gfns[k]);
	}
}

static bool unmapped;

static void balloon_one(struct vm *vm, u64 gfn)
{
	if (slat_unmap(&vm->slat, gfn * PAGE_SIZE))
		unmapped = true;
	if (p2m_state(&vm->p2m, gfn) == P2M_PRIVATE) {
		/* Freed only after the flush below: see inflate(). */
		vm->stats.balloon_freed++;
	}
	p2m_set(&vm->p2m, gfn, P2M_BALLOONED, p2m_value(&vm->p2m, gfn));
}

static void release_frame(struct vm *vm, u64 gfn)
{
	u64 hpa = p2m_value(&vm->p2m, gfn);

	if (hpa) {
		vm_release_frame(vm, hpa);
		p2m_set(&vm->p2m, gfn, P2M_BALLOONED, 0);
	}
}

static void unballoon_one(struct vm *vm, u64 gfn)
{
	p2m_set(&vm->p2m, gfn, P2M_UNPOPULATED, 0);
}

static s64 inflate(struct vm *vm, u64 gpa, u64 count)
{
	s64 rc = check_gfn_list(vm, gpa, count, P2M_UNPOPULATED);

	if (rc < 0)
		return rc;
	/*
	 * Unmap first, flush the guest's translations, and only then give
	 * the frames back: a frame must never be reused while a stale TLB
	 * entry can still reach it.  A ballooned entry keeps its old frame
	 * address until release_frame() frees it.
	 */
	unmapped = false;
	for_each_gfn(vm, gpa, count, balloon_one);
	if (unmapped)
		backend->flush_slat(vm);
	for_each_gfn(vm, gpa, count, release_frame);
	return (s64)count;
}

static s64 deflate(struct vm *vm, u64 gpa, u64 count)
{
	s64 rc = check_gfn_list(vm, gpa, count, P2M_BALLOONED);

	if (rc < 0)
		return rc;
	for_each_gfn(vm, gpa, count, unballoon_one);
	return (s64)count;
}

static s64 memstat(struct vm *vm, u64 gpa, u64 len)
{
	const struct p2m *p = &vm->p2m;
	u64 c[MEMSTAT_COUNTERS] = {
		p->count[P2M_PRIVATE] + p->count[P2M_SHARED],
		p->count[P2M_SHARED],
		p->count[P2M_SWAPPED],
		p->count[P2M_BALLOONED],
		vm->stats.slat_populations + vm->stats.hv_populations,
		vm->stats.exits[EXIT_SLAT_VIOLATION],
	};
	u64 n = MIN(len, sizeof(c)) / sizeof(u64) * sizeof(u64);

	if (!vm_in_ram(vm, gpa, n))
		return -HC_EFAULT;
	if (vm_write_phys(vm, gpa, c, n) < 0)
		return -HC_EFAULT;	/* out of memory: nothing to write into */
	return (s64)n;
}

void hypercall_handle(struct vm *vm)
{
	struct guest_regs *r = &vm->vcpu.regs;
	s64 rc;

	vm->stats.hypercalls++;
	switch (r->rax) {
	case HC_VERSION:
		rc = HYPERCALL_ABI_VERSION;
		break;
	case HC_BALLOON_INFLATE:
		rc = inflate(vm, r->rbx, r->rcx);
		break;
	case HC_BALLOON_DEFLATE:
		rc = deflate(vm, r->rbx, r->rcx);
		break;
	case HC_BALLOON_TARGET:
		rc = 0;		/* no reclaim policy yet: keep everything */
		break;
	case HC_YIELD:
		vm->yielded = true;
		rc = 0;
		break;
	case HC_MEMSTAT:
		rc = memstat(vm, r->rbx, r->rcx);
		break;
	default:
		rc = -HC_ENOSYS;
		break;
	}
	r->rax = (u64)rc;
}
