/*
 * hypercall.c - the hypervisor side of the guest's calls.
 *
 * Guest input is read once: a call copies its guest buffer into the
 * hypervisor, validates the copy completely, and then acts on the copy, so
 * nothing the guest changes in between (or that the call itself changes,
 * such as a gfn list inside a page it balloons) can alter what was checked.
 * Every argument is checked before any state changes, so a failing call
 * changes nothing (guest ABI).  Only the guest's kernel may call: a call
 * from CPL > 0 is refused with -EPERM before any argument is looked at
 * (KVM does the same), so a user program cannot hand its kernel's pages
 * to the balloon.  "RAM" for a buffer or a gfn is what the guest's memory
 * map calls RAM (vm_in_ram): the reserved legacy hole is not.  Duplicates in a gfn list are found by
 * marking the p2m entries (P2M_MARK) during the check and clearing exactly
 * those marks afterwards.
 */
#include "hypercall.h"
#include "bench.h"
#include "exit.h"
#include "vmmem.h"

#define MEMSTAT_COUNTERS 9

/* The copy of the gfn list being worked on.  One CPU runs one exit at a
 * time, so one buffer serves every VM. */
static u64 gfns[HC_GFN_MAX];

/*
 * Copies a gfn list into gfns[] and checks it: every gfn in RAM (by the
 * memory map), none twice, each ballooned (deflate) or not (inflate).
 * 0 or -errno.
 */
static s64 copy_gfn_list(struct vm *vm, u64 gpa, u64 count, bool ballooned)
{
	struct p2m *p = &vm->mem.p2m;
	s64 rc = 0;
	u64 k;

	if (count > HC_GFN_MAX)
		return -HC_E2BIG;
	if (!vm_in_ram(vm, gpa, count * sizeof(u64)))
		return -HC_EFAULT;
	vm_read_phys(vm, gpa, gfns, count * sizeof(u64));
	for (k = 0; k < count; k++) {
		u64 g = gfns[k];
		if (g >= vm->npages || !vm_in_ram(vm, g * PAGE_SIZE, PAGE_SIZE) ||
		    p2m_marked(p, g) ||
		    (p2m_state(p, g) == P2M_BALLOONED) != ballooned) {
			rc = -HC_EINVAL;
			break;
		}
		p2m_mark(p, g, true);
	}
	while (k--)	/* exactly the marks set above */
		p2m_mark(p, gfns[k], false);
	return rc;
}

/* Inflate: the pages go to the balloon, their frames back to the pool
 * (mm/balloon.c; the TLB flush they owe is paid before it returns). */
static s64 balloon(struct vm *vm, u64 gpa, u64 count, bool inflate)
{
	s64 rc;

	if (!count)
		return 0;
	rc = copy_gfn_list(vm, gpa, count, !inflate);
	if (rc < 0)
		return rc;
	bench_exit_is(inflate ? BENCH_BALLOON_INFLATE : BENCH_BALLOON_DEFLATE,
		      count);
	return (s64)balloon_apply(&vm->mem, gfns, count, inflate);
}

static s64 memstat(struct vm *vm, u64 gpa, u64 len)
{
	const struct gmem *g = &vm->mem;
	u64 c[MEMSTAT_COUNTERS] = {
		g->p2m.count[P2M_PRIVATE] + g->p2m.count[P2M_SHARED],
		g->p2m.count[P2M_SHARED],
		g->p2m.count[P2M_SWAPPED],
		g->p2m.count[P2M_BALLOONED],
		g->st.populated_slat + g->st.populated_hv,
		vm->stats.exits[EXIT_SLAT_VIOLATION] +
			(vm->shadow ? vm->shadow->st.fixed : 0),
		g->st.cow_guest,
		g->st.swapped_in,
		g->st.balloon_touched,
	};
	u64 n = MIN(len, sizeof(c)) / sizeof(u64) * sizeof(u64);

	if (!vm_in_ram(vm, gpa, n))
		return -HC_EFAULT;
	if (vm_write_phys(vm, gpa, c, n) < 0)
		return -HC_ENOMEM;	/* no frame for the buffer: nothing
					   written */
	return (s64)n;
}

void hypercall_handle(struct vm *vm)
{
	struct guest_regs *r = &vm->vcpu.regs;
	s64 rc;

	vm->stats.hypercalls++;
	if (vm->vcpu.cpl != 0) {
		vm->stats.hypercalls_refused++;
		r->rax = (u64)-HC_EPERM;
		return;
	}
	switch (r->rax) {
	case HC_VERSION:	/* the bare exit of make bench */
		bench_exit_is(BENCH_EXIT_BARE, 1);
		rc = HYPERCALL_ABI_VERSION;
		break;
	case HC_BALLOON_INFLATE:
		rc = balloon(vm, r->rbx, r->rcx, true);
		break;
	case HC_BALLOON_DEFLATE:
		rc = balloon(vm, r->rbx, r->rcx, false);
		break;
	case HC_BALLOON_TARGET:
		rc = (s64)balloon_target(&vm->mem);	/* mm/reclaim.c */
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
