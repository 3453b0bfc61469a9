/*
 * test_hypercall.c - the real hypervisor core's memory path, driven as a
 * backend drives it: every call goes through exit_handle() with a
 * normalized exit (EXIT_HYPERCALL with RAX/RBX/RCX, EXIT_SLAT_VIOLATION
 * with a GPA), and hv/exit.c, hv/hypercall.c, hv/vmmem.c and mm/gmem.c run
 * unchanged over tests/stub_hv.c's identity-mapped memory with the real
 * NPT format.
 *
 * What is proven (guest ABI, design.md "Guest ABI" and docs/guest-abi.md):
 *   - an inflate whose gfn array lies inside a page it lists balloons
 *     exactly the listed pages and frees exactly their frames, once the
 *     flush is paid, and never touches gfn 0 unless listed;
 *   - a duplicate anywhere in a list (also 297 entries apart) is -EINVAL;
 *   - an array in a page never touched reads as zeros: gfn 0, repeated;
 *   - counts: > 512 is -E2BIG before anything else (whatever the pointer,
 *     also where count * 8 overflows), 0 returns 0 whatever the pointer;
 *   - a failing call changes no state: p2m, contents, pool, marks,
 *     flushes all exactly as before;
 *   - MEMSTAT: the counters, -ENOMEM with no byte written when the pool
 *     is exhausted, -EFAULT for a buffer straddling the end of RAM;
 *   - SLAT violations: demand-zero, ballooned pages coming back zero, a
 *     dropped SLAT rebuilt with the data kept, and the stops (non-RAM,
 *     out of guest memory, an impossible permission fault) with their
 *     messages.
 */
#include <stdlib.h>

#include "unit.h"
#include "stub_hv.h"
#include "../arch/x86/svm/npt.h"
#include "../hv/exit.h"
#include "../hv/hypercall.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"

static struct vm vms[3];

/* --- driving the core ---------------------------------------------------- */

static u64 hcall(struct vm *vm, u64 nr, u64 rbx, u64 rcx)
{
	struct vm_exit e = { .reason = EXIT_HYPERCALL, .insn_len = 3 };

	vm->vcpu.regs.rax = nr;
	vm->vcpu.regs.rbx = rbx;
	vm->vcpu.regs.rcx = rcx;
	vm->vcpu.regs.rip = 0x1000;
	exit_handle(vm, &e);
	CHECK_EQ(vm->vcpu.regs.rip, 0x1003);
	return vm->vcpu.regs.rax;
}

#define NEG(e) ((u64)-(s64)(e))

static void fault(struct vm *vm, u64 gpa, bool write, bool present)
{
	struct vm_exit e = { .reason = EXIT_SLAT_VIOLATION };

	e.slat.gpa = gpa;
	e.slat.read = !write;
	e.slat.write = write;
	e.slat.present = present;
	exit_handle(vm, &e);
	/* No frame: the scheduler's decision for a VM alone (no other VM's
	 * balloon could give), which is a stop. */
	if (vm->wants_frame)
		vmmem_frame_ready(vm, 0, false);
}

/* The frame the SLAT maps gfn to, or 0. */
static u64 leaf_hpa(struct vm *vm, u64 gfn)
{
	u64 e;

	if (!slat_lookup(&vm->mem.slat, gfn * PAGE_SIZE, &e))
		return 0;
	return vm->mem.slat.fmt->address(e);
}

/* The guest writes v at the start of page gfn: a violation, then the
 * store through the leaf the core installed. */
static void touch(struct vm *vm, u64 gfn, u64 v)
{
	if (!leaf_hpa(vm, gfn))
		fault(vm, gfn * PAGE_SIZE, true, false);
	gmem_settle(&vm->mem);
	u64 hpa = leaf_hpa(vm, gfn);
	CHECK(hpa != 0);
	if (hpa)
		*(u64 *)hpa = v;
}

static u64 peek(struct vm *vm, u64 gpa)
{
	u64 v = ~0ull;

	CHECK_EQ(vm_read_phys(vm, gpa, &v, sizeof(v)), 0);
	return v;
}

static void put_list(struct vm *vm, u64 gpa, const u64 *list, u64 n)
{
	CHECK_EQ(vm_write_phys(vm, gpa, list, n * sizeof(u64)), 0);
}

static enum p2m_state state(struct vm *vm, u64 gfn)
{
	return p2m_state(&vm->mem.p2m, gfn);
}

static struct vm *setup(u64 pool_pages, u64 vm_pages)
{
	stub_phys_init(pool_pages * PAGE_SIZE);
	CHECK_EQ(stub_vm_create(&vms[0], 0, vm_pages * PAGE_SIZE, &npt_format),
		 0);
	return &vms[0];
}

static void no_marks(struct vm *vm)
{
	u64 marked = 0;

	for (u64 g = 0; g < vm->npages; g++)
		marked += p2m_marked(&vm->mem.p2m, g);
	CHECK_EQ(marked, 0);
}

/* Every VM torn down: the pool and the hv's frames are all back. */
static void teardown(int nvms)
{
	for (int i = 0; i < nvms; i++) {
		CHECK_EQ(vmmem_check(&vms[i]), 0);
		vmmem_destroy(&vms[i]);
	}
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
}

/* Everything a failing call must leave alone. */
struct snap {
	u64 *p2m;
	u8 *ram;
	u64 counts[P2M_STATE_COUNT];
	u64 pool_free, nstale, flushes, leaves;
	bool owed;
	struct gmem_stats st;
};

static void snap_take(struct vm *vm, struct snap *s)
{
	s->p2m = malloc(vm->npages * sizeof(u64));
	s->ram = malloc(vm->mem_bytes);
	memcpy(s->p2m, vm->mem.p2m.entries, vm->npages * sizeof(u64));
	CHECK_EQ(vm_read_phys(vm, 0, s->ram, vm->mem_bytes), 0);
	memcpy(s->counts, vm->mem.p2m.count, sizeof(s->counts));
	s->pool_free = guest_pool.st.free;
	s->nstale = vm->mem.nstale;
	s->flushes = stub_flushes[vm->id];
	s->leaves = vm->mem.slat.leaves;
	s->owed = vm->mem.slat.flush_owed;
	s->st = vm->mem.st;
}

#define CHECK_UNCHANGED(vm, s) check_unchanged_at(__LINE__, vm, s)
static void check_unchanged_at(int line, struct vm *vm, struct snap *s)
{
	int before = unit_failed_checks;
	u8 *ram = malloc(vm->mem_bytes);

	CHECK(memcmp(s->p2m, vm->mem.p2m.entries, vm->npages * 8) == 0);
	CHECK_EQ(vm_read_phys(vm, 0, ram, vm->mem_bytes), 0);
	CHECK(memcmp(s->ram, ram, vm->mem_bytes) == 0);
	CHECK(memcmp(s->counts, vm->mem.p2m.count, sizeof(s->counts)) == 0);
	CHECK_EQ(s->pool_free, guest_pool.st.free);
	CHECK_EQ(s->nstale, vm->mem.nstale);
	CHECK_EQ(s->flushes, stub_flushes[vm->id]);
	CHECK_EQ(s->leaves, vm->mem.slat.leaves);
	CHECK_EQ(s->owed, vm->mem.slat.flush_owed);
	CHECK(memcmp(&s->st, &vm->mem.st, sizeof(s->st)) == 0);
	no_marks(vm);
	if (unit_failed_checks != before)
		printf("  (state changed by a failing call, line %d)\n", line);
	free(ram);
	free(s->p2m);
	free(s->ram);
}

/* What the frames of gfns lo..hi looked like when the backend was told
 * to flush: still held back (stale), no longer mapped. */
static struct {
	struct vm *vm;
	const u64 *hpa;
	u64 lo, hi;
	unsigned calls, stale, mapped;
	u64 used;
} seen_at_flush;

static void record_at_flush(struct vm *vm)
{
	seen_at_flush.calls++;
	seen_at_flush.used = pool_used(&guest_pool);
	for (u64 g = seen_at_flush.lo; g <= seen_at_flush.hi; g++) {
		seen_at_flush.stale += pool_meta(&guest_pool,
				seen_at_flush.hpa[g])->state == FRAME_STALE;
		seen_at_flush.mapped += leaf_hpa(vm, g) != 0;
	}
}

static void watch_flush(const u64 *hpa, u64 lo, u64 hi)
{
	memset(&seen_at_flush, 0, sizeof(seen_at_flush));
	seen_at_flush.hpa = hpa;
	seen_at_flush.lo = lo;
	seen_at_flush.hi = hi;
	stub_on_flush = record_at_flush;
}

/* --- BALLOON_INFLATE with the list inside a listed page ------------------- */

TEST(inflate_list_inside_a_listed_page)
{
	/* Where the 3-entry list lies: inside page 6 (listed second), at
	 * the start of page 7 (listed last), straddling pages 5 and 6. */
	static const u64 where[] = { 6 * PAGE_SIZE + 8, 7 * PAGE_SIZE,
				     6 * PAGE_SIZE - 8 };
	static const u64 list[] = { 7, 6, 5 };

	for (unsigned w = 0; w < ARRAY_SIZE(where); w++) {
		struct vm *vm = setup(64, 64);
		u64 hpa[8] = { 0 };
		for (u64 g = 5; g <= 7; g++) {
			touch(vm, g, 0x1000 + g);
			hpa[g] = leaf_hpa(vm, g);
		}
		put_list(vm, where[w], list, 3);
		u64 used = pool_used(&guest_pool), flushes = stub_flushes[0];
		watch_flush(hpa, 5, 7);

		CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, where[w], 3), 3);
		for (u64 g = 0; g < vm->npages; g++)
			CHECK_EQ(state(vm, g), g >= 5 && g <= 7 ? P2M_BALLOONED
							       : P2M_UNPOPULATED);
		CHECK_EQ(vm->mem.p2m.count[P2M_BALLOONED], 3);
		CHECK_EQ(vm->mem.st.balloon_freed, 3);
		/* At the flush the pages were unmapped and their frames still
		 * held back; the call paid it once, and then freed them. */
		CHECK_EQ(stub_flushes[0], flushes + 1);
		CHECK_EQ(seen_at_flush.calls, 1);
		CHECK_EQ(seen_at_flush.stale, 3);
		CHECK_EQ(seen_at_flush.mapped, 0);
		CHECK_EQ(seen_at_flush.used, used);
		stub_on_flush = NULL;
		gmem_settle(&vm->mem);	/* nothing more is owed */
		CHECK_EQ(stub_flushes[0], flushes + 1);
		for (u64 g = 5; g <= 7; g++)
			CHECK_EQ(pool_meta(&guest_pool, hpa[g])->state,
				 FRAME_FREE);
		CHECK_EQ(pool_used(&guest_pool), used - 3);
		CHECK_EQ(pool_used(&guest_pool), 0);
		/* The pages read as zeros now, the list too. */
		for (u64 g = 5; g <= 7; g++)
			CHECK_EQ(peek(vm, g * PAGE_SIZE), 0);
		CHECK_EQ(peek(vm, where[w]), 0);
		no_marks(vm);
		teardown(1);
	}
}

/* --- duplicates ---------------------------------------------------------- */

TEST(duplicates_anywhere_in_a_long_list)
{
	/* The old code read lists in chunks of 64: pairs inside one chunk,
	 * across chunks, at the ends, adjacent. */
	static const int dup[][2] = { { 3, 300 }, { 0, 399 }, { 63, 64 },
				      { 64, 128 }, { 10, 11 }, { 398, 399 } };
	struct vm *vm = setup(1024, 1024);
	u64 list[512];
	const u64 at = 900 * PAGE_SIZE;

	/* gfns 0x100 (1 MiB) on: the legacy hole below is not RAM to
	 * hypercalls. */
	for (int i = 0; i < 400; i++)
		list[i] = 0x100 + (u64)i;
	for (int g = 0x100; g < 0x100 + 400; g += 7)
		touch(vm, (u64)g, (u64)g * 3);
	for (int inflate = 1; inflate >= 0; inflate--) {
		u64 nr = inflate ? HC_BALLOON_INFLATE : HC_BALLOON_DEFLATE;
		for (unsigned d = 0; d < ARRAY_SIZE(dup); d++) {
			u64 keep = list[dup[d][1]];
			list[dup[d][1]] = list[dup[d][0]];
			put_list(vm, at, list, 400);
			gmem_settle(&vm->mem);
			struct snap s;
			snap_take(vm, &s);
			CHECK_EQ(hcall(vm, nr, at, 400), NEG(HC_EINVAL));
			CHECK_UNCHANGED(vm, &s);
			list[dup[d][1]] = keep;
		}
		/* Without the duplicate the same list is taken whole. */
		put_list(vm, at, list, 400);
		CHECK_EQ(hcall(vm, nr, at, 400), 400);
		gmem_settle(&vm->mem);
		for (int i = 0; i < 400; i++)
			CHECK_EQ(state(vm, list[i]), inflate ? P2M_BALLOONED
							     : P2M_UNPOPULATED);
		no_marks(vm);
	}
	CHECK_EQ(pool_used(&guest_pool), 1);	/* the page holding the list */

	/* The largest list: 512 entries, a duplicate first and last. */
	for (int i = 0; i < 512; i++)
		list[i] = 0x100 + (u64)i;
	list[511] = list[0];
	put_list(vm, at, list, 512);
	struct snap s;
	snap_take(vm, &s);
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 512), NEG(HC_EINVAL));
	CHECK_UNCHANGED(vm, &s);
	list[511] = 0x100 + 511;
	put_list(vm, at, list, 512);
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 512), 512);
	CHECK_EQ(vm->mem.p2m.count[P2M_BALLOONED], 512);
	no_marks(vm);
	teardown(1);
}

/* --- a list nobody wrote ---------------------------------------------------- */

/*
 * The ABI hands the hypervisor "the gpa of a u64 gfn array"; a page the
 * guest never touched is demand-zero, so the array reads as gfn 0, gfn 0,
 * ...  Count 1 is then a valid request for gfn 0; count 2 lists gfn 0
 * twice.  Reading the array must not populate the page it lies in.
 */
TEST(list_in_a_page_never_touched)
{
	struct vm *vm = setup(64, 64);
	const u64 at = 40 * PAGE_SIZE + 64;
	struct snap s;

	touch(vm, 0, 0xfeed);
	snap_take(vm, &s);
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 2), NEG(HC_EINVAL));
	CHECK_UNCHANGED(vm, &s);
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, at, 1), NEG(HC_EINVAL));

	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 1), 1);
	CHECK_EQ(state(vm, 0), P2M_BALLOONED);
	CHECK_EQ(state(vm, 40), P2M_UNPOPULATED);	/* still never touched */
	gmem_settle(&vm->mem);
	CHECK_EQ(pool_used(&guest_pool), 0);
	CHECK_EQ(peek(vm, 0), 0);
	/* gfn 0 is ballooned now: inflating it again is invalid. */
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 1), NEG(HC_EINVAL));
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, at, 2), NEG(HC_EINVAL));
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, at, 1), 1);
	CHECK_EQ(state(vm, 0), P2M_UNPOPULATED);
	CHECK_EQ(state(vm, 40), P2M_UNPOPULATED);
	no_marks(vm);
	teardown(1);
}

/* --- counts and pointers -------------------------------------------------- */

TEST(counts_and_pointers)
{
	struct vm *vm = setup(64, 64);
	const u64 ram = vm->mem_bytes;
	/* Counts over the limit, with pointers that would also be wrong:
	 * the count is refused first.  (1 << 61) + 1 and 1 << 63 make
	 * count * 8 wrap to 8 and 0, which a range check alone would pass. */
	static const u64 big[] = { 513, 1000, ~0ull, (1ull << 61) + 1,
				   1ull << 63, 1ull << 61 };
	static const u64 ptr[] = { 0, 8, ~0ull, ~0ull - 7, 64 * PAGE_SIZE };

	for (int i = 0; i < 5; i++)
		touch(vm, (u64)i, (u64)i + 1);
	gmem_settle(&vm->mem);
	for (u64 nr = HC_BALLOON_INFLATE; nr <= HC_BALLOON_DEFLATE; nr++) {
		struct snap s;
		snap_take(vm, &s);
		for (unsigned c = 0; c < ARRAY_SIZE(big); c++)
			for (unsigned p = 0; p < ARRAY_SIZE(ptr); p++)
				CHECK_EQ(hcall(vm, nr, ptr[p], big[c]),
					 NEG(HC_E2BIG));
		for (unsigned p = 0; p < ARRAY_SIZE(ptr); p++)
			CHECK_EQ(hcall(vm, nr, ptr[p], 0), 0);
		/* In range or not, by the byte. */
		CHECK_EQ(hcall(vm, nr, ram, 1), NEG(HC_EFAULT));
		CHECK_EQ(hcall(vm, nr, ram - 8, 2), NEG(HC_EFAULT));
		CHECK_EQ(hcall(vm, nr, ram - 15, 2), NEG(HC_EFAULT));
		CHECK_EQ(hcall(vm, nr, ~0ull - 7, 1), NEG(HC_EFAULT));
		CHECK_EQ(hcall(vm, nr, ram - 4095, 512), NEG(HC_EFAULT));
		CHECK_UNCHANGED(vm, &s);
	}
	/* The last 8 bytes of RAM are a valid place for a 1-entry list
	 * (never written: gfn 0). */
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, ram - 8, 1), 1);
	CHECK_EQ(state(vm, 0), P2M_BALLOONED);
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, ram - 8, 1), 1);
	/* Unknown calls and the simple ones. */
	CHECK_EQ(hcall(vm, 99, 0, 0), NEG(HC_ENOSYS));
	CHECK_EQ(hcall(vm, ~0ull, 0, 0), NEG(HC_ENOSYS));
	CHECK_EQ(hcall(vm, HC_VERSION, 0, 0), HYPERCALL_ABI_VERSION);
	CHECK_EQ(hcall(vm, HC_BALLOON_TARGET, 0, 0), 0);
	vm->yielded = false;
	CHECK_EQ(hcall(vm, HC_YIELD, 0, 0), 0);
	CHECK(vm->yielded);
	no_marks(vm);
	teardown(1);
}

/* --- a failing call changes nothing ----------------------------------------- */

TEST(one_bad_gfn_at_the_end_changes_nothing)
{
	struct vm *vm = setup(64, 64);
	u64 list[12];
	const u64 at = 30 * PAGE_SIZE + 24;

	for (u64 g = 1; g <= 10; g++) {
		touch(vm, g, 0xab00 + g);
		list[g - 1] = g;
	}
	touch(vm, 20, 0x20);
	list[10] = 20;
	put_list(vm, at + 80, &list[10], 1);
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at + 80, 1), 1);	/* 20 */
	gmem_settle(&vm->mem);

	/* Inflate 1..10 plus: beyond RAM, far beyond, ballooned, a
	 * duplicate of the first. */
	static const u64 bad[] = { 64, ~0ull, 20, 1, 1ull << 40 };
	for (unsigned b = 0; b < ARRAY_SIZE(bad); b++) {
		list[10] = bad[b];
		put_list(vm, at, list, 11);
		gmem_settle(&vm->mem);
		struct snap s;
		snap_take(vm, &s);
		CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, at, 11), NEG(HC_EINVAL));
		CHECK_UNCHANGED(vm, &s);
		for (u64 g = 1; g <= 10; g++)
			CHECK_EQ(peek(vm, g * PAGE_SIZE), 0xab00 + g);
	}
	/* Deflate 20 plus one that is not ballooned. */
	u64 dl[2] = { 20, 5 };
	put_list(vm, at, dl, 2);
	struct snap s;
	snap_take(vm, &s);
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, at, 2), NEG(HC_EINVAL));
	CHECK_UNCHANGED(vm, &s);
	CHECK_EQ(hcall(vm, HC_BALLOON_DEFLATE, at, 1), 1);
	CHECK_EQ(state(vm, 20), P2M_UNPOPULATED);
	teardown(1);
}

/* --- MEMSTAT ------------------------------------------------------------------ */

TEST(memstat_counters)
{
	struct vm *vm = setup(64, 64);
	u64 c[10];
	const u64 at = 3 * PAGE_SIZE + 40;

	for (u64 g = 1; g <= 4; g++)
		touch(vm, g, g);		/* 4 violations, 4 populations */
	u64 one = 2;
	put_list(vm, 10 * PAGE_SIZE, &one, 1);	/* a hv population */
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, 10 * PAGE_SIZE, 1), 1);
	gmem_settle(&vm->mem);
	memset(c, 0x5a, sizeof(c));
	CHECK_EQ(vm_write_phys(vm, at, c, sizeof(c)), 0);

	CHECK_EQ(hcall(vm, HC_MEMSTAT, at, 100), 72);
	CHECK_EQ(vm_read_phys(vm, at, c, sizeof(c)), 0);
	CHECK_EQ(c[0], 4);	/* resident: 1, 3, 4 and 10 */
	CHECK_EQ(c[1], 0);	/* shared */
	CHECK_EQ(c[2], 0);	/* swapped */
	CHECK_EQ(c[3], 1);	/* ballooned: 2 */
	CHECK_EQ(c[4], 5);	/* populated by a touch or the hv */
	CHECK_EQ(c[5], 4);	/* SLAT violations */
	CHECK_EQ(c[6], 0);	/* copy-on-write breaks by the guest */
	CHECK_EQ(c[7], 0);	/* swap-ins */
	CHECK_EQ(c[8], 0);	/* ballooned pages touched */
	CHECK_EQ(c[9], 0x5a5a5a5a5a5a5a5aull);	/* beyond the 72 bytes */

	/* The guest touches its ballooned page 2 anyway: a zero page of its
	 * own again, counted. */
	fault(vm, 2 * PAGE_SIZE, false, false);
	gmem_settle(&vm->mem);
	CHECK_EQ(peek(vm, 2 * PAGE_SIZE), 0);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, at, sizeof(c)), 72);
	CHECK_EQ(vm_read_phys(vm, at, c, sizeof(c)), 0);
	CHECK_EQ(c[0], 5);	/* 2 resident again */
	CHECK_EQ(c[3], 0);	/* nothing ballooned */
	CHECK_EQ(c[8], 1);	/* and that one touch counted */

	memset(c, 0x5a, sizeof(c));
	CHECK_EQ(vm_write_phys(vm, at, c, sizeof(c)), 0);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, at, 23), 16);	/* whole u64s */
	CHECK_EQ(vm_read_phys(vm, at, c, sizeof(c)), 0);
	CHECK_EQ(c[1], 0);
	CHECK_EQ(c[2], 0x5a5a5a5a5a5a5a5aull);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, at, 7), 0);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ~0ull, 0), NEG(HC_EFAULT));
	teardown(1);
}

TEST(memstat_straddling_the_end_of_ram)
{
	struct vm *vm = setup(64, 64);
	const u64 ram = vm->mem_bytes;
	u64 c[6];

	touch(vm, 63, 0x6363);
	struct snap s;
	snap_take(vm, &s);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ram - 16, 48), NEG(HC_EFAULT));
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ram - 47, 48), NEG(HC_EFAULT));
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ram, 8), NEG(HC_EFAULT));
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ~0ull - 7, 48), NEG(HC_EFAULT));
	CHECK_UNCHANGED(vm, &s);
	/* The same buffer cut to what fits is fine. */
	CHECK_EQ(hcall(vm, HC_MEMSTAT, ram - 16, 16), 16);
	CHECK_EQ(vm_read_phys(vm, ram - 16, c, 16), 0);
	CHECK_EQ(c[0], 1);
	teardown(1);
}

TEST(memstat_with_the_pool_exhausted_writes_nothing)
{
	struct vm *vm = setup(8, 64);
	struct vm *other = &vms[1];
	u8 page[PAGE_SIZE];

	CHECK_EQ(stub_vm_create(other, 1, 64 * PAGE_SIZE, &npt_format), 0);
	memset(page, 0x11, sizeof(page));
	CHECK_EQ(vm_write_phys(vm, 9 * PAGE_SIZE, page, PAGE_SIZE), 0);
	for (u64 g = 0; g < 7; g++)
		touch(other, g, g);
	CHECK_EQ(guest_pool.st.free, 0);

	struct snap s;
	snap_take(vm, &s);
	/* Into an unpopulated page, and straddling page 9 (populated) and
	 * page 10 (not): all or nothing. */
	CHECK_EQ(hcall(vm, HC_MEMSTAT, 20 * PAGE_SIZE, 48), NEG(HC_ENOMEM));
	CHECK_EQ(hcall(vm, HC_MEMSTAT, 10 * PAGE_SIZE - 16, 48),
		 NEG(HC_ENOMEM));
	CHECK_UNCHANGED(vm, &s);
	CHECK_EQ(state(vm, 20), P2M_UNPOPULATED);
	CHECK_EQ(state(vm, 10), P2M_UNPOPULATED);
	CHECK_EQ(peek(vm, 10 * PAGE_SIZE - 8), 0x1111111111111111ull);
	/* Into page 9 alone it needs no frame. */
	CHECK_EQ(hcall(vm, HC_MEMSTAT, 9 * PAGE_SIZE, 48), 48);
	CHECK_EQ(peek(vm, 9 * PAGE_SIZE), 1);

	/* The other VM gives a page back; once its flush is paid (its next
	 * entry) the frame is free and MEMSTAT can populate. */
	u64 one = 3;
	put_list(other, 0, &one, 1);
	CHECK_EQ(hcall(other, HC_BALLOON_INFLATE, 0, 1), 1);
	gmem_settle(&other->mem);
	CHECK_EQ(guest_pool.st.free, 1);
	CHECK_EQ(hcall(vm, HC_MEMSTAT, 20 * PAGE_SIZE, 48), 48);
	CHECK_EQ(state(vm, 20), P2M_PRIVATE);
	teardown(2);
}

/* --- SLAT violations ----------------------------------------------------------- */

TEST(slat_violation_populates_zeroed_frames)
{
	struct vm *vm = setup(64, 64);

	/* stub_phys_init filled memory with 0xa5: a frame not zeroed shows. */
	fault(vm, 7 * PAGE_SIZE + 123, false, false);
	CHECK_EQ(vm->state, VM_RUNNING);
	u64 hpa = leaf_hpa(vm, 7);
	CHECK(hpa != 0);
	CHECK_EQ(p2m_value(&vm->mem.p2m, 7), hpa);
	u64 e = 0;
	CHECK(slat_lookup(&vm->mem.slat, 7 * PAGE_SIZE, &e));
	CHECK_EQ(npt_format.perms(e), SLAT_RWX);
	for (u64 i = 0; i < PAGE_SIZE / 8; i++)
		CHECK_EQ(((u64 *)hpa)[i], 0);
	CHECK_EQ(vm->mem.st.populated_slat, 1);
	CHECK_EQ(vm->stats.exits[EXIT_SLAT_VIOLATION], 1);
	CHECK_EQ(vm->mem.slat.flush_owed, false);	/* new leaf: none owed */

	/* Ballooned, then touched anyway: a zero page again, counted. */
	*(u64 *)hpa = 77;
	u64 l = 7;
	put_list(vm, 8 * PAGE_SIZE, &l, 1);
	CHECK_EQ(hcall(vm, HC_BALLOON_INFLATE, 8 * PAGE_SIZE, 1), 1);
	gmem_settle(&vm->mem);
	fault(vm, 7 * PAGE_SIZE, true, false);
	CHECK_EQ(state(vm, 7), P2M_PRIVATE);
	CHECK_EQ(vm->mem.st.balloon_touched, 1);
	CHECK_EQ(peek(vm, 7 * PAGE_SIZE), 0);

	/* A dropped SLAT is rebuilt from the p2m, data kept. */
	touch(vm, 7, 0x7777);
	hpa = leaf_hpa(vm, 7);
	slat_drop(&vm->mem.slat, 0, 2 * MiB);
	CHECK_EQ(leaf_hpa(vm, 7), 0);
	CHECK(vm->mem.slat.flush_owed);
	gmem_settle(&vm->mem);
	fault(vm, 7 * PAGE_SIZE, false, false);
	CHECK_EQ(leaf_hpa(vm, 7), hpa);
	CHECK_EQ(vm->mem.st.rebuilds, 1);
	CHECK_EQ(peek(vm, 7 * PAGE_SIZE), 0x7777);
	CHECK_EQ(vm->state, VM_RUNNING);
	teardown(1);
}

TEST(slat_violation_stops)
{
	struct vm *vm = setup(4, 64);
	struct vm *other = &vms[1];

	CHECK_EQ(stub_vm_create(other, 1, 64 * PAGE_SIZE, &npt_format), 0);

	/* Outside RAM. */
	vm->vcpu.regs.rip = 0x4321;
	fault(vm, 64 * PAGE_SIZE, true, false);
	CHECK_EQ(vm->state, VM_STOPPED);
	CHECK_STR(vm->stop_reason,
		  "access to non-RAM GPA 0x40000 (write) at RIP 0x4321");
	CHECK(stub_log_has("[hv] vm0: access to non-RAM GPA 0x40000"));
	CHECK_EQ(pool_used(&guest_pool), 0);

	/* Out of guest memory: the stopped VM keeps its pages as they were,
	 * the other goes on. */
	vm->state = VM_RUNNING;
	for (u64 g = 0; g < 3; g++)
		touch(vm, g, g);
	touch(other, 0, 0xaa);
	fault(vm, 3 * PAGE_SIZE + 8, false, false);
	CHECK_EQ(vm->state, VM_STOPPED);
	CHECK(stub_log_has("vm0: out of guest memory (pool 4 frames, 4 in "
			   "use) at GPA 0x3008"));
	CHECK_EQ(state(vm, 3), P2M_UNPOPULATED);
	CHECK_EQ(other->state, VM_RUNNING);
	CHECK_EQ(peek(other, 0), 0xaa);
	CHECK_EQ(vmmem_check(vm), 0);

	/* A permission fault on a leaf that grants everything. */
	vm->state = VM_RUNNING;
	fault(vm, 1 * PAGE_SIZE, true, true);
	CHECK_EQ(vm->state, VM_STOPPED);
	CHECK(stub_log_has("vm0: unexpected NPT permission fault at GPA "
			   "0x1000 (write)"));
	CHECK(stub_log_has("p2m says private"));
	teardown(2);
}

/* The pool is empty but this VM's own released frames wait for its
 * flush (here: frames released by a SLAT drop and a release made outside
 * a hypercall, which settles itself): the fault pays it and takes one. */
TEST(slat_violation_settles_its_own_stale_frames)
{
	struct vm *vm = setup(4, 64);

	for (u64 g = 0; g < 4; g++)
		touch(vm, g, g + 1);
	gmem_release(&vm->mem, 0, P2M_BALLOONED);
	gmem_release(&vm->mem, 1, P2M_BALLOONED);
	CHECK_EQ(vm->mem.nstale, 2);
	CHECK_EQ(guest_pool.st.free, 0);
	u64 flushes = stub_flushes[0];
	fault(vm, 10 * PAGE_SIZE, false, false);
	CHECK_EQ(vm->state, VM_RUNNING);
	CHECK_EQ(stub_flushes[0], flushes + 1);
	CHECK_EQ(vm->mem.nstale, 0);
	CHECK_EQ(guest_pool.st.free, 1);
	CHECK_EQ(state(vm, 10), P2M_PRIVATE);
	teardown(1);
}
