/*
 * test_reclaim.c - the reclaim policy (mm/reclaim.c) and the balloon
 * (mm/balloon.c), through their real entry points.
 *
 *   - the free-memory states and their thresholds, tiny pools included;
 *   - reclaim_targets() on tables of inputs: no pressure, no targets; the
 *     idle tax takes from the idle VM first; shares divide the rest as
 *     min-funding revocation says; the bounds (balloon_max, what a VM has);
 *     the band above high where targets stay; the surplus that shrinks them;
 *   - the period over real VMs (tests/stub_hv.c): the sampler finds the idle
 *     VM idle from the SLAT accessed flags, BALLOON_TARGET answers its
 *     target, inflating brings it to target, swapping takes from a VM that
 *     does not balloon, holding below low;
 *   - a fault that finds the pool empty waits while another VM's balloon
 *     could give, resumes once it has, and stops "out of memory" when
 *     nothing can free a frame or the wait is too long.
 */
#include "unit.h"
#include "stub_hv.h"
#include "../arch/x86/svm/npt.h"
#include "../hv/exit.h"
#include "../hv/hypercall.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"
#include "../mm/reclaim.h"

static const struct reclaim_params params = {
	.th = { .high = 600, .soft = 400, .hard = 200, .low = 100 },
	.idle_tax = 75,
	.balloon_max = 65,
};

/* --- states --------------------------------------------------------------- */

TEST(reclaim_states_from_free_memory)
{
	static const struct { u64 free; enum mem_state want; } table[] = {
		{ 10000, MEM_HIGH }, { 600, MEM_HIGH }, { 599, MEM_SOFT },
		{ 400, MEM_SOFT }, { 399, MEM_HARD }, { 200, MEM_HARD },
		{ 100, MEM_HARD }, { 99, MEM_LOW }, { 0, MEM_LOW },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(table); i++)
		CHECK_EQ(mem_state_of(&params.th, table[i].free),
			 table[i].want);
	CHECK(!strcmp(mem_state_name(MEM_SOFT), "soft"));
	CHECK(!strcmp(mem_state_name(MEM_LOW), "low"));
}

TEST(reclaim_thresholds_from_percentages)
{
	struct mem_thresholds t = mem_thresholds_from_pct(8192, 6, 4, 2, 1);

	CHECK_EQ(t.high, 491);
	CHECK_EQ(t.soft, 327);
	CHECK_EQ(t.hard, 163);
	CHECK_EQ(t.low, 81);
	/* A pool too small for 1%: each at least a frame, strictly apart. */
	t = mem_thresholds_from_pct(20, 6, 4, 2, 1);
	CHECK_EQ(t.low, 1);
	CHECK_EQ(t.hard, 2);
	CHECK_EQ(t.soft, 3);
	CHECK_EQ(t.high, 4);
}

/* --- targets -------------------------------------------------------------- */

static struct reclaim_vm vm_in(u64 pages, u64 resident, u64 reclaimed,
			       u64 idle_pm, u32 shares)
{
	return (struct reclaim_vm){ .active = true, .pages = pages,
				    .resident = resident,
				    .reclaimed = reclaimed, .idle_pm = idle_pm,
				    .shares = shares };
}

static u64 total(const struct reclaim_vm *v, int n)
{
	u64 t = 0;

	for (int i = 0; i < n; i++)
		t += v[i].target;
	return t;
}

TEST(reclaim_no_pressure_no_targets)
{
	struct reclaim_vm v[2] = { vm_in(4096, 2000, 0, 1000, 1000),
				   vm_in(4096, 2000, 0, 0, 1000) };

	reclaim_targets(&params, 5000, v, 2);
	CHECK_EQ(v[0].target, 0);
	CHECK_EQ(v[1].target, 0);
}

/* Below high the total is what is missing to the middle of the band
 * [high, high + (high - soft)] = 700, plus what is reclaimed already. */
TEST(reclaim_idle_vm_gives_first)
{
	struct reclaim_vm v[2] = { vm_in(4096, 2000, 0, 900, 1000),
				   vm_in(4096, 2000, 0, 0, 1000) };

	reclaim_targets(&params, 300, v, 2);
	CHECK_EQ(total(v, 2), 400);
	/* An idle page costs 4 active ones (tax 75%): the idle VM keeps
	 * giving until its weighted pages fall to the active VM's. */
	CHECK_EQ(v[0].target, 400);
	CHECK_EQ(v[1].target, 0);

	/* Without the tax, equal VMs share the reclaim equally (to a
	 * chunk). */
	struct reclaim_params flat = params;
	flat.idle_tax = 0;
	v[0].target = v[1].target = 0;
	reclaim_targets(&flat, 300, v, 2);
	CHECK_EQ(total(v, 2), 400);
	CHECK(v[0].target >= 195 && v[0].target <= 205);
}

/* Min-funding revocation with shares 2:1 and equal pages: the reclaim
 * ends where shares / (pages - target) are equal, t1 = 2 t2 - P. */
TEST(reclaim_shares_divide_the_reclaim)
{
	struct reclaim_params flat = params;
	flat.idle_tax = 0;
	flat.th = (struct mem_thresholds){ .high = 1200, .soft = 800,
					   .hard = 400, .low = 200 };
	struct reclaim_vm v[2] = { vm_in(4096, 1000, 0, 0, 2000),
				   vm_in(4096, 1000, 0, 0, 1000) };

	reclaim_targets(&flat, 800, v, 2);	/* aim 1400: total 600 */
	CHECK_EQ(total(v, 2), 600);
	/* t2 = 1600/3 = 533, t1 = 67, within a chunk (600/128 = 4) */
	CHECK(v[1].target >= 529 && v[1].target <= 537);
	CHECK(v[0].target >= 63 && v[0].target <= 71);
}

TEST(reclaim_bounds)
{
	/* balloon_max 65% of 1000 pages is 650; the VM has 900. */
	struct reclaim_vm v[2] = { vm_in(1000, 900, 0, 1000, 1000),
				   vm_in(4096, 40, 0, 1000, 1000) };

	reclaim_targets(&params, 0, v, 2);	/* wants 700 */
	CHECK_EQ(v[0].target, 650);
	CHECK_EQ(v[1].target, 40);		/* all it has */
	CHECK(total(v, 2) < 700);		/* every VM at its bound */

	struct reclaim_params none = params;
	none.balloon_max = 0;
	reclaim_targets(&none, 0, v, 2);
	CHECK_EQ(total(v, 2), 0);

	/* A VM that has ended takes no part. */
	v[0].active = false;
	v[0].target = 99;
	reclaim_targets(&params, 0, v, 2);
	CHECK_EQ(v[0].target, 0);
}

TEST(reclaim_band_keeps_and_surplus_shrinks)
{
	struct reclaim_vm v[2] = { vm_in(4096, 1000, 300, 1000, 1000),
				   vm_in(4096, 1000, 100, 0, 1000) };

	/* In the band [600, 800]: the targets stay as they were. */
	v[0].target = 300;
	v[1].target = 100;
	reclaim_targets(&params, 700, v, 2);
	CHECK_EQ(v[0].target + v[1].target, 400);
	/* Above it by 300 over the aim (700): the total shrinks by that. */
	reclaim_targets(&params, 1000, v, 2);
	CHECK_EQ(total(v, 2), 100);
	/* A large surplus: nothing is kept in balloons. */
	reclaim_targets(&params, 100000, v, 2);
	CHECK_EQ(total(v, 2), 0);
}

/* --- over real VMs -------------------------------------------------------- */

static struct vm vms[3];

static u64 hcall(struct vm *vm, u64 nr, u64 rbx, u64 rcx)
{
	struct vm_exit e = { .reason = EXIT_HYPERCALL, .insn_len = 3 };

	vm->vcpu.regs.rax = nr;
	vm->vcpu.regs.rbx = rbx;
	vm->vcpu.regs.rcx = rcx;
	exit_handle(vm, &e);
	return vm->vcpu.regs.rax;
}

/* A guest write to gfn: the violation, its leaf, the re-entry, and the
 * store (a word that is not zero, so the page is worth a slot). */
static void touch(struct vm *vm, u64 gfn)
{
	struct vm_exit e = { .reason = EXIT_SLAT_VIOLATION };

	e.slat.gpa = gfn * PAGE_SIZE;
	e.slat.write = true;
	exit_handle(vm, &e);
	gmem_settle(&vm->mem);
	u64 *leaf = stub_leaf(vm, gfn);
	if (leaf)
		*(u64 *)hv_ptr(npt_format.address(*leaf)) = gfn + 1;
}

/* The CPU touched every page of vm that has a leaf: sets their accessed
 * flags (NPT bit 5). */
static void access_all(struct vm *vm)
{
	for (u64 gfn = 0; gfn < vm->npages; gfn++) {
		u64 *e = stub_leaf(vm, gfn);
		if (e)
			*e |= 1ull << 5;
	}
}

static void setup(int n, u64 pool, u64 mem, u64 swap)
{
	stub_phys_init(pool);
	if (swap)
		stub_swap_init(swap, 2, 4);
	stub_reclaim_init(30, 20, 10, 5, 75, 65);
	for (int i = 0; i < n; i++)
		CHECK_EQ(stub_vm_create(&vms[i], i, mem, &npt_format), 0);
}

static void teardown(int n)
{
	for (int i = 0; i < n; i++)
		if (vms[i].mem.p2m.entries)
			vmmem_destroy(&vms[i]);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
}

/* Inflates gfns [first, first + n) of vm through the hypercall, with the
 * list in the page at list_gfn. */
static s64 inflate(struct vm *vm, u64 list_gfn, u64 first, u64 n)
{
	u64 list[64];

	for (u64 i = 0; i < n; i++)
		list[i] = first + i;
	CHECK_EQ(vm_write_phys(vm, list_gfn * PAGE_SIZE, list, n * 8), 0);
	return (s64)hcall(vm, HC_BALLOON_INFLATE, list_gfn * PAGE_SIZE, n);
}

TEST(reclaim_period_finds_the_idle_vm)
{
	/* A 1 MiB pool (256 frames): high 76, soft 51, hard 25, low 12. */
	setup(2, 1 * MiB, 2 * MiB, 0);
	for (u64 g = 16; g < 16 + 100; g++) {
		touch(&vms[0], g);	/* vm0 writes 100 pages, then idles */
		touch(&vms[1], g);	/* vm1 keeps using its 100 */
	}
	CHECK_EQ(guest_pool.st.free, 56);	/* below high */
	for (int p = 0; p < 200; p++) {
		access_all(&vms[1]);
		reclaim_period(&guest_reclaim);
		gmem_settle(&vms[0].mem);
		gmem_settle(&vms[1].mem);
	}
	CHECK(vms[0].mem.balloon.idle_pm > 900);
	CHECK(vms[1].mem.balloon.idle_pm < 100);
	CHECK_EQ(guest_reclaim.state, MEM_SOFT);
	/* The missing frames to the aim (76 + 12): all from the idle VM. */
	CHECK_EQ(vms[0].mem.balloon.target, 88 - 56);
	CHECK_EQ(vms[1].mem.balloon.target, 0);
	CHECK_EQ(hcall(&vms[0], HC_BALLOON_TARGET, 0, 0), 32);
	CHECK_EQ(hcall(&vms[1], HC_BALLOON_TARGET, 0, 0), 0);

	/* vm0's driver inflates 32 of its pages: the pool gets them back,
	 * and the target stays where it is (free is in the band now). */
	CHECK_EQ(inflate(&vms[0], 100, 16, 32), 32);	/* list in gfn 100 */
	CHECK_EQ(guest_pool.st.free, 88);
	CHECK(!balloon_short(&vms[0].mem));
	reclaim_period(&guest_reclaim);
	CHECK_EQ(guest_reclaim.state, MEM_HIGH);
	CHECK_EQ(vms[0].mem.balloon.target, 32);
	CHECK_EQ(vms[0].mem.balloon.st.inflated, 32);

	/* vm1 ends: the surplus shrinks the target to 0, and vm0 deflates. */
	vmmem_destroy(&vms[1]);
	vms[1].mem.p2m.entries = NULL;
	reclaim_period(&guest_reclaim);
	CHECK_EQ(vms[0].mem.balloon.target, 0);
	teardown(2);
}

TEST(reclaim_swaps_a_vm_that_does_not_balloon)
{
	/* 1 MiB pool, 1 MiB swap. */
	setup(2, 1 * MiB, 2 * MiB, 1 * MiB);
	for (u64 g = 16; g < 16 + 110; g++) {
		touch(&vms[0], g);
		touch(&vms[1], g);
	}
	CHECK_EQ(guest_pool.st.free, 36);	/* hard: below soft (51) */
	u64 target = 0;
	for (int p = 0; p < 200 && !guest_swap.used; p++) {
		access_all(&vms[1]);
		reclaim_period(&guest_reclaim);
		target = MAX(target, vms[0].mem.balloon.target);
		gmem_settle(&vms[0].mem);
		gmem_settle(&vms[1].mem);
	}
	/* vm0 never inflates: after the lag, swapping took from it, and
	 * only from it, until free was back at soft. */
	CHECK(target > 0);
	CHECK(vms[0].mem.p2m.count[P2M_SWAPPED] > 0);
	CHECK_EQ(vms[1].mem.p2m.count[P2M_SWAPPED], 0);
	CHECK(guest_reclaim.st.swapped_short > 0);
	CHECK(vms[0].mem.balloon.st.lag_periods >= BALLOON_LAG_PERIODS);
	CHECK(guest_pool.st.free >= guest_reclaim.par.th.soft);
	/* What the balloon is asked for is the target less what swapping
	 * took. */
	CHECK_EQ(hcall(&vms[0], HC_BALLOON_TARGET, 0, 0),
		 vms[0].mem.balloon.target >
				 vms[0].mem.p2m.count[P2M_SWAPPED]
			 ? vms[0].mem.balloon.target -
				   vms[0].mem.p2m.count[P2M_SWAPPED]
			 : 0);
	u64 diffs = vmmem_check(&vms[0]) + vmmem_check(&vms[1]);
	CHECK_EQ(diffs, 0);
	teardown(2);
}

TEST(reclaim_holds_below_low_only_while_swapping_helps)
{
	setup(2, 1 * MiB, 2 * MiB, 1 * MiB);
	for (u64 g = 16; g < 16 + 125; g++) {
		touch(&vms[0], g);
		touch(&vms[1], g);
	}
	CHECK_EQ(guest_pool.st.free, 6);	/* below low (12) */
	vms[0].mem.balloon.target = 100;
	struct reclaim r = guest_reclaim;	/* a copy to look at */
	r.state = MEM_LOW;
	r.swapping = true;
	CHECK(reclaim_holds(&r, &vms[0].mem));
	CHECK(!reclaim_holds(&r, &vms[1].mem));	/* not short */
	r.swapping = false;			/* swapping stuck */
	CHECK(!reclaim_holds(&r, &vms[0].mem));
	r.state = MEM_HARD;
	r.swapping = true;
	CHECK(!reclaim_holds(&r, &vms[0].mem));
	teardown(2);
}

/* --- waiting for a frame -------------------------------------------------- */

TEST(reclaim_fault_waits_while_a_balloon_can_give)
{
	/* 256 frames, no swap: vm0 holds 200, vm1 the rest. */
	setup(2, 1 * MiB, 2 * MiB, 0);
	for (u64 g = 16; g < 16 + 200; g++)
		touch(&vms[0], g);
	for (u64 g = 16; g < 16 + 300 && !vms[1].wants_frame; g++)
		touch(&vms[1], g);
	CHECK(vms[1].wants_frame);
	CHECK_EQ(vms[1].state, VM_RUNNING);
	CHECK_EQ(vms[1].stats.mem_waits, 1);
	u64 gpa = vms[1].wait_gpa;
	CHECK_EQ(p2m_state(&vms[1].mem.p2m, gpa / PAGE_SIZE), P2M_UNPOPULATED);

	/* vm0 can run and holds pages its balloon can take: wait. */
	CHECK(!vmmem_frame_ready(&vms[1], 1u << 0, false));
	CHECK_EQ(vms[1].state, VM_RUNNING);
	/* vm0 inflates: vm1 may run, and its retried access is mapped. */
	CHECK_EQ(inflate(&vms[0], 100, 16, 8), 8);	/* list in gfn 100 */
	CHECK(vmmem_frame_ready(&vms[1], 1u << 0, false));
	CHECK(!vms[1].wants_frame);
	touch(&vms[1], gpa / PAGE_SIZE);
	CHECK_EQ(p2m_state(&vms[1].mem.p2m, gpa / PAGE_SIZE), P2M_PRIVATE);
	teardown(2);
}

TEST(reclaim_fault_stops_when_nothing_can_free)
{
	setup(2, 1 * MiB, 2 * MiB, 0);
	for (u64 g = 16; g < 16 + 200; g++)
		touch(&vms[0], g);
	for (u64 g = 16; g < 16 + 300 && !vms[1].wants_frame; g++)
		touch(&vms[1], g);
	CHECK(vms[1].wants_frame);
	/* vm0 is blocked (not runnable): nothing can free a frame. */
	CHECK(!vmmem_frame_ready(&vms[1], 0, false));
	CHECK_EQ(vms[1].state, VM_STOPPED);
	CHECK(strstr(vms[1].stop_reason, "out of guest memory (pool 256 "
		     "frames, 256 in use) at GPA 0x") != NULL);
	teardown(2);

	/* vm0 could, but the wait has gone on too long. */
	setup(2, 1 * MiB, 2 * MiB, 0);
	for (u64 g = 16; g < 16 + 200; g++)
		touch(&vms[0], g);
	for (u64 g = 16; g < 16 + 300 && !vms[1].wants_frame; g++)
		touch(&vms[1], g);
	CHECK(!vmmem_frame_ready(&vms[1], 1u << 0, true));
	CHECK_EQ(vms[1].state, VM_STOPPED);
	CHECK(strstr(vms[1].stop_reason, "waited too long for the other "
		     "VMs' balloons") != NULL);
	teardown(2);
}
