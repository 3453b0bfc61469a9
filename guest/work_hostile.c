/*
 * work_hostile.c - deliberate misbehaviour, one action per hostile= value,
 * for memvisor's negative tests: the hypervisor must contain each of these
 * to this VM (stop it with a clear message, or answer with the documented
 * error) while every other VM goes on.
 *
 * Actions that must be stopped end with "GUEST RESULT: FAIL hostile=...
 * was not stopped" if they return at all; natively most of them fault or
 * triple-fault instead, which is expected.  The hcall-* actions check the
 * hypervisor's answers and pass when every answer is the documented error.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "hv.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
#define HOSTILE_VA (SCRATCH_BASE + (UINT64_C(2) << 30))
/* An address nothing maps: the boot identity map is gone after vm_init. */
#define WILD_POINTER UINT64_C(0x00000000DEADB000)

static uint8_t vmx_region[4096] __attribute__((aligned(4096)));
static uint64_t gfn_list[4];
static uint64_t memstat_buf[MEMSTAT_COUNT];

static uint64_t first_gpa_beyond_ram(void)
{
	return (vm_ram_top() + PAGE - 1) & ~(PAGE - 1);
}

static int not_stopped(struct work_ctx *c, const char *what)
{
	return work_fail(c, STATUS_HOSTILE, "hostile=%s was not stopped",
			 what);
}

static int oob_access(struct work_ctx *c, int write)
{
	uint64_t gpa = first_gpa_beyond_ram();
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)HOSTILE_VA;

	if (vm_map_page(HOSTILE_VA, gpa, PTE_W | PTE_NX) < 0)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: cannot map");
	kprintf("hostile: %s GPA 0x%lx (RAM ends at 0x%lx) through VA 0x%lx\n",
		write ? "writing" : "reading", gpa, vm_ram_top(), HOSTILE_VA);
	if (write) {
		*p = 0x0BADBADBADBADBADull;
		kprintf("hostile: write completed\n");
	} else {
		kprintf("hostile: read completed: 0x%lx\n", *p);
	}
	return not_stopped(c, write ? "oob-write" : "oob-read");
}

/* Each expectation: the call, its answer, the documented answer. */
static int expect_rc(struct work_ctx *c, const char *what, int64_t rc,
		     int64_t want)
{
	kprintf("hostile: %-44s = %ld %s (expected %ld %s)%s\n", what,
		(long)rc, hc_error_name(rc), (long)want, hc_error_name(want),
		rc == want ? "" : "  <-- WRONG");
	if (rc != want)
		return work_fail(c, STATUS_HOSTILE,
				 "hostile: %s returned %ld, expected %ld", what,
				 (long)rc, (long)want);
	return WORK_PASS;
}

static int hcall_unknown(struct work_ctx *c)
{
	if (expect_rc(c, "hypercall 6 (first unassigned)",
		      hypercall(6, 0, 0, 0, 0), -HC_ENOSYS) ||
	    expect_rc(c, "hypercall 0x1000", hypercall(0x1000, 1, 2, 3, 4),
		      -HC_ENOSYS) ||
	    expect_rc(c, "hypercall 0xffffffffffffffff",
		      hypercall(~0ull, 0, 0, 0, 0), -HC_ENOSYS))
		return WORK_FAIL;
	return WORK_PASS;
}

static int hcall_badaddr(struct work_ctx *c)
{
	uint64_t top = first_gpa_beyond_ram();

	if (expect_rc(c, "MEMSTAT(buffer at end of RAM)",
		      hc_memstat(top, sizeof(memstat_buf)), -HC_EFAULT) ||
	    expect_rc(c, "MEMSTAT(buffer straddling end of RAM)",
		      hc_memstat(top - 8, sizeof(memstat_buf)), -HC_EFAULT) ||
	    expect_rc(c, "MEMSTAT(buffer at 0xfffffffffffff000)",
		      hc_memstat(~0xFFFull, sizeof(memstat_buf)), -HC_EFAULT) ||
	    expect_rc(c, "BALLOON_INFLATE(array beyond RAM, 1)",
		      hc_balloon_inflate(top, 1), -HC_EFAULT) ||
	    expect_rc(c, "BALLOON_DEFLATE(array beyond RAM, 1)",
		      hc_balloon_deflate(top, 1), -HC_EFAULT))
		return WORK_FAIL;
	return WORK_PASS;
}

static int64_t call_with_gfns(int nr, uint64_t a, uint64_t b, uint64_t n)
{
	gfn_list[0] = a;
	gfn_list[1] = b;
	return nr == HC_BALLOON_INFLATE
		       ? hc_balloon_inflate(kernel_phys(gfn_list), n)
		       : hc_balloon_deflate(kernel_phys(gfn_list), n);
}

static int64_t ballooned_now(void)
{
	int64_t rc = hc_memstat(kernel_phys(memstat_buf), sizeof(memstat_buf));
	return rc < 0 ? rc : (int64_t)memstat_buf[MEMSTAT_BALLOONED];
}

/* Bad gfns must be refused as a whole: the good gfn in the same array must
 * still be ours, content intact, and the balloon count unchanged. */
static int hcall_badgfn(struct work_ctx *c)
{
	uint64_t pa = vm_alloc_frame();
	if (!pa)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: no frame");

	uint64_t good = pa / PAGE;
	uint64_t bad = first_gpa_beyond_ram() / PAGE;
	struct region page = { .name = "badgfn-page",
			       .base = phys_to_virt(pa),
			       .pages = 1,
			       .tag = TAG_BALLOON };
	struct region zero = page;
	int64_t ballooned = ballooned_now();

	zero.tag = TAG_ZERO;
	region_fill_pages(&page, c->cfg->seed, 0, 1);
	if (expect_rc(c, "INFLATE([gfn beyond RAM])",
		      call_with_gfns(HC_BALLOON_INFLATE, bad, 0, 1),
		      -HC_EINVAL) ||
	    expect_rc(c, "INFLATE([gfn 0xffffffffffffffff])",
		      call_with_gfns(HC_BALLOON_INFLATE, ~0ull, 0, 1),
		      -HC_EINVAL) ||
	    expect_rc(c, "INFLATE([good gfn, gfn beyond RAM])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, bad, 2),
		      -HC_EINVAL) ||
	    expect_rc(c, "INFLATE([good gfn, same gfn again])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, good, 2),
		      -HC_EINVAL) ||
	    expect_rc(c, "DEFLATE([gfn not in the balloon])",
		      call_with_gfns(HC_BALLOON_DEFLATE, good, 0, 1),
		      -HC_EINVAL) ||
	    expect_rc(c, "MEMSTAT ballooned unchanged", ballooned_now(),
		      ballooned) ||
	    work_verify(c, &page, 0, 1) < 0)
		return WORK_FAIL;
	kprintf("hostile: the good gfn's page is intact after the refused "
		"calls\n");
	/* The good gfn alone is accepted, so the refusals above were about
	 * the bad entries. */
	if (expect_rc(c, "INFLATE([good gfn])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, 0, 1), 1) ||
	    expect_rc(c, "DEFLATE([good gfn])",
		      call_with_gfns(HC_BALLOON_DEFLATE, good, 0, 1), 1) ||
	    work_verify(c, &zero, 0, 1) < 0)
		return WORK_FAIL;
	vm_free_frame(pa);
	return WORK_PASS;
}

static int run_hcall_check(struct work_ctx *c, int (*check)(struct work_ctx *))
{
	const char *name = cmdline_hostile_name(c->cfg->hostile);
	if (!hv_present())
		return work_skip(name, "needs memvisor: a hypercall without it "
				       "is #UD");
	int rc = check(c);
	if (rc == WORK_PASS)
		kprintf("hostile: %s: every answer as documented\n", name);
	return rc;
}

int work_hostile(struct work_ctx *c)
{
	switch (c->cfg->hostile) {
	case HOSTILE_OOB_READ:
		return oob_access(c, 0);
	case HOSTILE_OOB_WRITE:
		return oob_access(c, 1);
	case HOSTILE_VMXON:
		kprintf("hostile: executing VMXON\n");
		__asm__ volatile("vmxon %0" : : "m"(vmx_region) : "memory");
		return not_stopped(c, "vmxon");
	case HOSTILE_VMRUN:
		kprintf("hostile: executing VMRUN\n");
		__asm__ volatile("vmrun"
				 :
				 : "a"(kernel_phys(vmx_region))
				 : "memory");
		return not_stopped(c, "vmrun");
	case HOSTILE_TRIPLE:
		kprintf("hostile: loading an empty IDT and raising #UD "
			"(triple fault)\n");
		desc_triple_fault();
	case HOSTILE_HCALL_UNKNOWN:
		return run_hcall_check(c, hcall_unknown);
	case HOSTILE_HCALL_BADADDR:
		return run_hcall_check(c, hcall_badaddr);
	case HOSTILE_HCALL_BADGFN:
		return run_hcall_check(c, hcall_badgfn);
	case HOSTILE_SPIN:
		kprintf("hostile: spinning forever with interrupts off\n");
		irq_disable();
		for (;;)
			__asm__ volatile("" : : : "memory");
	case HOSTILE_WILD:
		kprintf("hostile: writing through wild pointer 0x%lx\n",
			WILD_POINTER);
		*(volatile uint64_t *)(uintptr_t)WILD_POINTER = 1;
		return not_stopped(c, "wild");
	case HOSTILE_EFER_SVME: {
		/* On AMD the guest's EFER must keep SVME set for VMRUN to
		 * accept the VMCB (APM 15.5.1); clearing it breaks the next
		 * entry, which the hypervisor must report and contain.  On
		 * Intel bit 12 is reserved and already 0: nothing happens. */
		uint64_t efer = rdmsr(MSR_EFER);
		kprintf("hostile: clearing EFER.SVME (EFER 0x%lx), then CPUID\n",
			efer);
		wrmsr(MSR_EFER, efer & ~(UINT64_C(1) << 12));
		uint32_t a = 0, b, cx = 0, d;
		__asm__ volatile("cpuid"
				 : "+a"(a), "=b"(b), "+c"(cx), "=d"(d));
		return not_stopped(c, "efer-svme");
	}
	case HOSTILE_NONE:
	case HOSTILE_COUNT:
		break;
	}
	return WORK_PASS;
}
