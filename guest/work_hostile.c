/*
 * work_hostile.c - deliberate misbehaviour, one action per hostile= value,
 * for memvisor's negative tests: the hypervisor must contain each of these
 * to this VM (stop it with a clear message, or answer with the documented
 * error) while every other VM goes on.
 *
 * Actions that must be stopped end with "GUEST RESULT: FAIL hostile=...
 * was not stopped" if they return at all; natively most of them fault or
 * triple-fault instead, which is expected.  The hcall-* actions check the
 * hypervisor's answers and pass when every answer is the documented error;
 * balloon-alias checks that a gfn array lying inside one of the pages it
 * lists is read once, as one list, before any of those pages goes away;
 * balloon-touch (work_balloon.c) touches pages it ballooned.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "format.h"
#include "hv.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
#define HOSTILE_VA (SCRATCH_BASE + (UINT64_C(2) << 30))
/* An address nothing maps: the boot identity map is gone after vm_init. */
#define WILD_POINTER UINT64_C(0x00000000DEADB000)

static uint8_t vmx_region[4096] __attribute__((aligned(4096)));
static uint64_t gfn_list[4];
/* One more gfn than a call may take, for the -E2BIG checks. */
static uint64_t long_list[HC_GFN_MAX + 1];
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
int hostile_expect_rc(struct work_ctx *c, const char *what, int64_t rc,
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
	if (hostile_expect_rc(c, "hypercall 6 (first unassigned)",
		      hypercall(6, 0, 0, 0, 0), -HC_ENOSYS) ||
	    hostile_expect_rc(c, "hypercall 0x1000", hypercall(0x1000, 1, 2, 3, 4),
		      -HC_ENOSYS) ||
	    hostile_expect_rc(c, "hypercall 0xffffffffffffffff",
		      hypercall(~0ull, 0, 0, 0, 0), -HC_ENOSYS))
		return WORK_FAIL;
	return WORK_PASS;
}

static int hcall_badaddr(struct work_ctx *c)
{
	uint64_t top = first_gpa_beyond_ram();

	if (hostile_expect_rc(c, "MEMSTAT(buffer at end of RAM)",
		      hc_memstat(top, sizeof(memstat_buf)), -HC_EFAULT) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer straddling end of RAM)",
		      hc_memstat(top - 8, sizeof(memstat_buf)), -HC_EFAULT) ||
	    hostile_expect_rc(c, "MEMSTAT(buffer at 0xfffffffffffff000)",
		      hc_memstat(~0xFFFull, sizeof(memstat_buf)), -HC_EFAULT) ||
	    hostile_expect_rc(c, "BALLOON_INFLATE(array beyond RAM, 1)",
		      hc_balloon_inflate(top, 1), -HC_EFAULT) ||
	    hostile_expect_rc(c, "BALLOON_DEFLATE(array beyond RAM, 1)",
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

int64_t hostile_ballooned_now(void)
{
	int64_t rc = hc_memstat(kernel_phys(memstat_buf), sizeof(memstat_buf));
	return rc < 0 ? rc : (int64_t)memstat_buf[MEMSTAT_BALLOONED];
}

/*
 * The bound on a gfn list: HC_GFN_MAX + 1 entries get -E2BIG whatever
 * they hold and wherever the array is (the count is checked before
 * anything else), and HC_GFN_MAX entries are not refused for their number
 * but for their content (so the bound is not off by one).  The lists start
 * with the good gfn: a hypervisor that ignored the bound and took a prefix
 * would be caught by MEMSTAT and the page's content afterwards.
 */
static int check_count_bound(struct work_ctx *c, uint64_t good, uint64_t bad)
{
	uint64_t gpa = kernel_phys(long_list);

	long_list[0] = good;
	for (int i = 1; i <= HC_GFN_MAX; i++)
		long_list[i] = bad;
	if (hostile_expect_rc(c, "INFLATE(513 gfns: good, 512 beyond RAM)",
		      hc_balloon_inflate(gpa, HC_GFN_MAX + 1), -HC_E2BIG) ||
	    hostile_expect_rc(c, "DEFLATE(513 gfns)",
		      hc_balloon_deflate(gpa, HC_GFN_MAX + 1), -HC_E2BIG) ||
	    hostile_expect_rc(c, "INFLATE(array beyond RAM, 513)",
		      hc_balloon_inflate(first_gpa_beyond_ram(),
					 HC_GFN_MAX + 1),
		      -HC_E2BIG) ||
	    hostile_expect_rc(c, "INFLATE(count 0xffffffffffffffff)",
		      hc_balloon_inflate(gpa, ~0ull), -HC_E2BIG) ||
	    hostile_expect_rc(c, "INFLATE(512 gfns: good, 511 beyond RAM)",
		      hc_balloon_inflate(gpa, HC_GFN_MAX), -HC_EINVAL) ||
	    hostile_expect_rc(c, "DEFLATE(512 gfns)",
		      hc_balloon_deflate(gpa, HC_GFN_MAX), -HC_EINVAL))
		return WORK_FAIL;
	return WORK_PASS;
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
	int64_t ballooned = hostile_ballooned_now();

	zero.tag = TAG_ZERO;
	region_fill_pages(&page, c->cfg->seed, 0, 1);
	if (hostile_expect_rc(c, "INFLATE([gfn beyond RAM])",
		      call_with_gfns(HC_BALLOON_INFLATE, bad, 0, 1),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "INFLATE([gfn 0xffffffffffffffff])",
		      call_with_gfns(HC_BALLOON_INFLATE, ~0ull, 0, 1),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "INFLATE([good gfn, gfn beyond RAM])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, bad, 2),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "INFLATE([good gfn, same gfn again])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, good, 2),
		      -HC_EINVAL) ||
	    hostile_expect_rc(c, "DEFLATE([gfn not in the balloon])",
		      call_with_gfns(HC_BALLOON_DEFLATE, good, 0, 1),
		      -HC_EINVAL) ||
	    check_count_bound(c, good, bad) ||
	    hostile_expect_rc(c, "MEMSTAT ballooned unchanged", hostile_ballooned_now(),
		      ballooned) ||
	    work_verify(c, &page, 0, 1) < 0)
		return WORK_FAIL;
	kprintf("hostile: the good gfn's page is intact after the refused "
		"calls\n");
	/* The good gfn alone is accepted, so the refusals above were about
	 * the bad entries. */
	if (hostile_expect_rc(c, "INFLATE([good gfn])",
		      call_with_gfns(HC_BALLOON_INFLATE, good, 0, 1), 1) ||
	    hostile_expect_rc(c, "DEFLATE([good gfn])",
		      call_with_gfns(HC_BALLOON_DEFLATE, good, 0, 1), 1) ||
	    work_verify(c, &zero, 0, 1) < 0)
		return WORK_FAIL;
	vm_free_frame(pa);
	return WORK_PASS;
}

/*
 * balloon-alias: BALLOON_INFLATE with the gfn array inside one of the pages
 * it lists.  The call must act on the list as the guest wrote it, however
 * the hypervisor walks it: a hypervisor that reads the list from guest
 * memory again after it has taken the array's own page away reads zeros
 * there, and so releases gfn 0's frame (while gfn 0 may still be mapped)
 * and never frees the listed ones.  So besides the answers, this VM keeps
 * writing and verifying gfn 0 and a page it kept, yielding in between so
 * that the other VMs run and allocate: a frame of ours that went back to
 * the pool while still mapped corrupts one of theirs, or our data.
 *
 * Two placements of the array, each with ALIAS_PAGES pages: in the last
 * listed page, then in the first one (gfn[0] is the array's page).  The
 * last comes first because it is the one that can hurt another VM (a
 * hypervisor that re-reads the list after the first pass frees gfn 0's
 * frame without unmapping it), and the other VMs must still be allocating
 * when it happens.  The checks here do not stop at the first wrong
 * answer: the action goes on to the end (while that still makes sense),
 * so that a broken hypervisor shows everything it gets wrong, and fails
 * at the end.
 */
#define ALIAS_PAGES 100
#define ALIAS_ROUNDS 8
#define ALIAS_ARRAY_OFFSET 0x800 /* where in its page the array sits */
#define ALIAS_PROBE_GEN 0x1000   /* probe pages' generations start here */

static uint64_t alias_frame[ALIAS_PAGES]; /* pa of each listed page */
static uint64_t alias_copy[ALIAS_PAGES];  /* the list, for DEFLATE */

struct alias {
	struct work_ctx *c;
	int wrong; /* answers or bytes not as documented so far */
	uint64_t gen;
	uint64_t kept;          /* pa of a page of ours that is not listed */
	struct region probe[2]; /* gfn 0, and the kept page */
};

static int alias_expect(struct alias *a, const char *what, int64_t rc,
			int64_t want)
{
	kprintf("hostile: %-44s = %ld %s (expected %ld %s)%s\n", what,
		(long)rc, hc_error_name(rc), (long)want, hc_error_name(want),
		rc == want ? "" : "  <-- WRONG");
	if (rc == want)
		return 1;
	if (!a->wrong++)
		work_fail(a->c, STATUS_HOSTILE,
			  "hostile: %s returned %ld, expected %ld", what,
			  (long)rc, (long)want);
	return 0;
}

/* Verifies both probe pages, then writes them with a new generation. */
static void alias_probe_round(struct alias *a, int verify)
{
	for (int i = 0; i < 2; i++) {
		struct region *r = &a->probe[i];
		/* On a scratch context, so that the first failure's reason
		 * is the one kept. */
		struct work_ctx scratch = *a->c;
		if (verify && work_verify(&scratch, r, 0, 1) < 0 && !a->wrong++)
			*a->c = scratch;
		r->gen = a->gen++;
		region_fill_pages(r, a->c->cfg->seed, 0, 1);
	}
}

static struct region alias_page(uint64_t pa, uint32_t tag, uint64_t gen)
{
	return (struct region){ .name = "alias-listed",
				.base = phys_to_virt(pa),
				.pages = 1,
				.tag = tag,
				.gen = gen };
}

static int alias_one(struct alias *a, int array_index, const char *where)
{
	struct work_ctx *c = a->c;
	char what[64];

	kprintf("hostile: balloon-alias: %d pages, the gfn array inside the "
		"%s listed page\n", ALIAS_PAGES, where);
	for (int i = 0; i < ALIAS_PAGES; i++) {
		alias_frame[i] = vm_alloc_frame();
		if (!alias_frame[i])
			return work_fail(c, STATUS_NO_MEMORY,
					 "hostile: no frame for page %d", i);
		struct region r = alias_page(alias_frame[i], TAG_BALLOON, i + 1);
		region_fill_pages(&r, c->cfg->seed, 0, 1);
		alias_copy[i] = alias_frame[i] / PAGE;
	}
	uint64_t array_gpa = alias_frame[array_index] + ALIAS_ARRAY_OFFSET;
	uint64_t *array = phys_to_virt(array_gpa);
	for (int i = 0; i < ALIAS_PAGES; i++)
		array[i] = alias_copy[i];
	kprintf("hostile: filled pages gfn 0x%lx..., array at GPA 0x%lx in "
		"gfn[%d] = 0x%lx\n",
		alias_copy[0], array_gpa, array_index,
		alias_copy[array_index]);

	/* gfn 0 and the kept page hold data before the call: a frame taken
	 * from under them would show as wrong bytes, or in another VM. */
	alias_probe_round(a, 0);
	int64_t before = hostile_ballooned_now();
	fmt_snprintf(what, sizeof(what), "INFLATE(array in gfn[%d], %d)",
		     array_index, ALIAS_PAGES);
	alias_expect(a, what, hc_balloon_inflate(array_gpa, ALIAS_PAGES),
		     ALIAS_PAGES);
	fmt_snprintf(what, sizeof(what), "MEMSTAT ballooned (was %ld)",
		     (long)before);
	alias_expect(a, what, hostile_ballooned_now(), before + ALIAS_PAGES);

	kprintf("hostile: writing and verifying gfn 0 and gfn 0x%lx (not "
		"listed), %d rounds, yielding between them\n",
		a->kept / PAGE, ALIAS_ROUNDS);
	int wrong_before = a->wrong;
	for (int r = 0; r < ALIAS_ROUNDS; r++) {
		hc_yield();
		alias_probe_round(a, 1);
	}
	kprintf("hostile: %d rounds on gfn 0 and the kept page: %s\n",
		ALIAS_ROUNDS,
		a->wrong == wrong_before ? "every byte as written"
					 : "NOT as written");

	/* The list for DEFLATE lives in .bss: the array's own page is in
	 * the balloon (and would read as zero if touched). */
	fmt_snprintf(what, sizeof(what), "DEFLATE(copy of the list, %d)",
		     ALIAS_PAGES);
	if (!alias_expect(a, what,
			  hc_balloon_deflate(kernel_phys(alias_copy),
					     ALIAS_PAGES),
			  ALIAS_PAGES)) {
		kprintf("hostile: the listed pages stay allocated: their "
			"state is unknown\n");
		return WORK_PASS;
	}
	alias_expect(a, "MEMSTAT ballooned back", hostile_ballooned_now(), before);
	uint64_t bad = 0;
	for (int i = 0; i < ALIAS_PAGES; i++) {
		struct region r = alias_page(alias_frame[i], TAG_ZERO, 0);
		bad += region_verify_pages(&r, c->cfg->seed, 0, 1, 0, 0) != 0;
	}
	kprintf("hostile: deflated pages reading as zero: %lu of %d%s\n",
		(unsigned long)(ALIAS_PAGES - bad), ALIAS_PAGES,
		bad ? "  <-- WRONG" : "");
	if (bad && !a->wrong++)
		work_fail(c, STATUS_HOSTILE,
			  "hostile: %lu deflated pages do not read as zero",
			  (unsigned long)bad);
	for (int i = 0; i < ALIAS_PAGES; i++)
		vm_free_frame(alias_frame[i]);
	return WORK_PASS;
}

static int balloon_alias(struct work_ctx *c)
{
	uint64_t kept = vm_alloc_frame();
	struct alias a = { .c = c, .gen = ALIAS_PROBE_GEN, .kept = kept };

	if (!kept)
		return work_fail(c, STATUS_NO_MEMORY, "hostile: no frame");
	a.probe[0] = (struct region){ .name = "alias-gfn0",
				      .base = phys_to_virt(0),
				      .pages = 1,
				      .tag = TAG_BALLOON };
	a.probe[1] = (struct region){ .name = "alias-kept",
				      .base = phys_to_virt(kept),
				      .pages = 1,
				      .tag = TAG_BALLOON };
	if (alias_one(&a, ALIAS_PAGES - 1, "last") != WORK_PASS ||
	    alias_one(&a, 0, "first") != WORK_PASS)
		return WORK_FAIL;
	alias_probe_round(&a, 1);
	if (a.wrong) {
		kprintf("hostile: balloon-alias: %d answers or pages not as "
			"documented\n", a.wrong);
		return WORK_FAIL;
	}
	vm_free_frame(kept);
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
	case HOSTILE_BALLOON_ALIAS:
		return run_hcall_check(c, balloon_alias);
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
	case HOSTILE_INVLPGA:
	case HOSTILE_CPUID_HIDDEN:
	case HOSTILE_HCALL_OTHER_VENDOR:
		return work_hostile_insn(c);
	case HOSTILE_HLT_CLI:
	case HOSTILE_HLT_STI:
	case HOSTILE_HCALL_USER:
	case HOSTILE_IN32:
	case HOSTILE_MSR_SWEEP:
	case HOSTILE_HCALL_RESERVED:
	case HOSTILE_COMPUTE:
	case HOSTILE_PC_DEVICES:
	case HOSTILE_KBC_RESET:
		return work_hostile_core(c);
	case HOSTILE_COW_STORM:
		return work_cow_storm(c);
	case HOSTILE_X2APIC_BAD:
		return work_hostile_apic(c);
	case HOSTILE_BALLOON_TOUCH:
		return run_hcall_check(c, work_balloon_touch);
	case HOSTILE_CR3_OUTSIDE:
	case HOSTILE_PT_LOOP:
	case HOSTILE_PT_SCRIBBLE:
		return work_hostile_pt(c);
	case HOSTILE_NONE:
	case HOSTILE_COUNT:
		break;
	default:
		break;
	}
	int rc = work_hostile_cr(c);	/* WORK_SKIP: not one of its */
	if (rc != WORK_SKIP)
		return rc;
	return work_hostile_emul(c);
}
