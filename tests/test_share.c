/*
 * test_share.c - content-based page sharing (mm/share.c) and its
 * copy-on-write (mm/gmem.c), through the real entry points: guest
 * accesses are SLAT violations handed to hv/exit.c's exit_handle() and
 * stores through the leaf the core installed; the hypervisor's own
 * accesses are vm_read_phys/vm_write_phys and hypercalls; the scanner is
 * share_scan() as hv/run.c calls it between slices.  hv/vmmem.c sets
 * sharing up (guest_share_init) over tests/stub_hv.c's identity-mapped
 * memory, with the real NPT format.
 *
 * What is proven:
 *   - identical pages merge after two scan rounds, never after one (the
 *     checksum rule), into one FRAME_SHARED frame whose refcount is the
 *     pages mapping it; their leaves become read-only; the duplicate
 *     frames are still FRAME_STALE when the backend is told to flush and
 *     FREE after it;
 *   - zero pages map the zero frame (counted in zero_refs) and reading
 *     them, by the guest or the hv, allocates nothing;
 *   - a write to a shared page (a write fault on a present read-only leaf)
 *     gets a private copy of the old content plus the write; the last
 *     reference becomes private in place, in the same frame;
 *   - the hypervisor's own writes (vm_write_phys, MEMSTAT) break COW first
 *     and never change a shared frame;
 *   - BALLOON_INFLATE of a shared page drops its reference; teardown of a
 *     VM leaves the other's data intact, and the pool is all free when
 *     both are gone;
 *   - share groups: pages of different groups never merge;
 *   - a volatile page is not merged, and counted;
 *   - a COW break with the pool empty stops that VM and changes nothing;
 *   - the oracle counts a hand-made case right; share_check() finds a
 *     broken refcount;
 *   - with a hash that returns a constant, different pages never share a
 *     frame (the bytes are compared), and the collisions are counted
 *     (tests/test_gmem.c runs its model with that hash too).
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

#define NEG(e) ((u64)-(s64)(e))
#define RO (SLAT_R | SLAT_X)

/* --- driving the core ---------------------------------------------------- */

static u64 hcall(struct vm *vm, u64 nr, u64 rbx, u64 rcx)
{
	struct vm_exit e = { .reason = EXIT_HYPERCALL, .insn_len = 3 };

	vm->vcpu.regs.rax = nr;
	vm->vcpu.regs.rbx = rbx;
	vm->vcpu.regs.rcx = rcx;
	exit_handle(vm, &e);
	return vm->vcpu.regs.rax;
}

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

/* The leaf for gfn: its frame (0 if none) and permissions. */
static u64 leaf(struct vm *vm, u64 gfn, unsigned *perms)
{
	u64 e;

	if (perms)
		*perms = 0;
	if (!slat_lookup(&vm->mem.slat, gfn * PAGE_SIZE, &e))
		return 0;
	if (perms)
		*perms = vm->mem.slat.fmt->perms(e);
	return vm->mem.slat.fmt->address(e);
}

static unsigned leaf_perms(struct vm *vm, u64 gfn)
{
	unsigned p;

	leaf(vm, gfn, &p);
	return p;
}

/*
 * The guest stores len bytes at gfn:off as the CPU would: through the
 * leaf if it grants the write, else a SLAT violation (present says
 * whether a leaf was there: a read-only one is a permission fault), the
 * re-entry (gmem_settle), and the store.  False if the VM stopped.
 */
static bool gstore(struct vm *vm, u64 gfn, u64 off, const void *buf, u64 len)
{
	unsigned perms;
	u64 hpa = leaf(vm, gfn, &perms);

	if (!hpa || !(perms & SLAT_W)) {
		fault(vm, gfn * PAGE_SIZE + off, true, hpa != 0);
		if (vm->state != VM_RUNNING)
			return false;
		gmem_settle(&vm->mem);
		hpa = leaf(vm, gfn, &perms);
	}
	CHECK(hpa != 0 && (perms & SLAT_W));
	if (!hpa || !(perms & SLAT_W))
		return false;
	memcpy((u8 *)hpa + off, buf, len);
	return true;
}

/* The guest reads len bytes at gfn:off (a violation first if unmapped). */
static void gload(struct vm *vm, u64 gfn, u64 off, void *buf, u64 len)
{
	u64 hpa = leaf(vm, gfn, NULL);

	if (!hpa) {
		fault(vm, gfn * PAGE_SIZE + off, false, false);
		gmem_settle(&vm->mem);
		hpa = leaf(vm, gfn, NULL);
	}
	CHECK(hpa != 0);
	if (hpa)
		memcpy(buf, (u8 *)hpa + off, len);
}

/* A page image from a seed: different seeds, different pages. */
static void image(u8 *page, u64 seed)
{
	u64 x = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;

	for (u64 i = 0; i < PAGE_SIZE; i += 8) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		memcpy(page + i, &x, 8);
	}
}

/* The guest fills page gfn with image(seed); seed 0 writes zeros. */
static void gfill(struct vm *vm, u64 gfn, u64 seed)
{
	static u8 page[PAGE_SIZE];

	if (seed)
		image(page, seed);
	else
		memset(page, 0, PAGE_SIZE);
	CHECK(gstore(vm, gfn, 0, page, PAGE_SIZE));
}

/* Page gfn, read by the hypervisor, is image(seed) (zeros for 0). */
static bool holds(struct vm *vm, u64 gfn, u64 seed)
{
	static u8 want[PAGE_SIZE], got[PAGE_SIZE];

	if (seed)
		image(want, seed);
	else
		memset(want, 0, PAGE_SIZE);
	if (vm_read_phys(vm, gfn * PAGE_SIZE, got, PAGE_SIZE) < 0)
		return false;
	return memcmp(want, got, PAGE_SIZE) == 0;
}

static enum p2m_state state(struct vm *vm, u64 gfn)
{
	return p2m_state(&vm->mem.p2m, gfn);
}

static u64 hpa_of(struct vm *vm, u64 gfn)
{
	return p2m_value(&vm->mem.p2m, gfn);
}

static struct frame_meta *meta(u64 hpa)
{
	return pool_meta(&guest_pool, hpa);
}

static u32 refs(u64 hpa)
{
	struct frame_meta *m = meta(hpa);

	return m && m->state == FRAME_SHARED ? m->refcount : 0;
}

/* The scanner's round, as hv/run.c runs it between slices. */
static u64 scan(void)
{
	return share_scan(&guest_share, 1u << 20);
}

/* A fresh machine: pool, sharing on, n VMs of vm_pages pages each in the
 * given groups (NULL: all in group 0). */
static void setup(u64 pool_pages, int n, u64 vm_pages, const unsigned *groups)
{
	stub_phys_init(pool_pages * PAGE_SIZE);
	stub_share_init(true);
	for (int i = 0; i < n; i++)
		CHECK_EQ(stub_vm_create_in(&vms[i], i, vm_pages * PAGE_SIZE,
					   &npt_format, groups ? groups[i] : 0),
			 0);
}

static u64 checks(int n)
{
	u64 d = 0;

	stub_log_clear();
	for (int i = 0; i < n; i++)
		d += vmmem_check(&vms[i]);
	if (d)
		printf("  self-check: %s", stub_log());
	return d;
}

/* Every VM torn down: the pool and the hv's frames are all back. */
static void teardown(int n)
{
	CHECK_EQ(checks(n), 0);
	for (int i = 0; i < n; i++)
		vmmem_destroy(&vms[i]);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
	CHECK_EQ(guest_share.zero_refs, 0);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	stub_on_flush = NULL;
}

/* What the watched frames looked like when the backend was told to flush. */
static struct {
	u64 hpa[4];
	int n;
	unsigned calls, stale, not_stale, free;
} at_flush;

static u32 at_flush_refs;	/* of the first watched frame */

static void record_flush(struct vm *vm)
{
	(void)vm;
	at_flush.calls++;
	for (int i = 0; i < at_flush.n; i++) {
		if (meta(at_flush.hpa[i])->state == FRAME_STALE)
			at_flush.stale++;
		else
			at_flush.not_stale++;
		at_flush.free += meta(at_flush.hpa[i])->state == FRAME_FREE;
	}
	at_flush_refs = refs(at_flush.hpa[0]);
}

static void watch(const u64 *hpa, int n)
{
	memset(&at_flush, 0, sizeof(at_flush));
	for (int i = 0; i < n; i++)
		at_flush.hpa[i] = hpa[i];
	at_flush.n = n;
	stub_on_flush = record_flush;
}

/* --- merging ------------------------------------------------------------------ */

TEST(two_vms_merge_after_two_rounds)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];

	gfill(a, 3, 7);
	gfill(b, 5, 7);
	gfill(a, 4, 8);		/* unique */
	u64 ha = hpa_of(a, 3), hb = hpa_of(b, 5);
	CHECK(ha != hb);
	CHECK_EQ(pool_used(&guest_pool), 3);

	/* Round one only takes the checksums. */
	CHECK_EQ(scan(), 3);
	CHECK_EQ(state(a, 3), P2M_PRIVATE);
	CHECK_EQ(state(b, 5), P2M_PRIVATE);
	CHECK_EQ(guest_share.st.merges, 0);
	CHECK_EQ(leaf_perms(a, 3), SLAT_RWX);

	/* Round two merges; the duplicate waits for the flush. */
	u64 pair[2] = { ha, hb };
	watch(pair, 2);
	CHECK_EQ(scan(), 3);
	CHECK_EQ(state(a, 3), P2M_SHARED);
	CHECK_EQ(state(b, 5), P2M_SHARED);
	u64 h = hpa_of(a, 3);
	CHECK_EQ(hpa_of(b, 5), h);
	CHECK(h == ha || h == hb);
	u64 dup = h == ha ? hb : ha;
	CHECK_EQ(meta(h)->state, FRAME_SHARED);
	CHECK_EQ(meta(h)->refcount, 2);
	CHECK_EQ(meta(dup)->state, FRAME_FREE);
	CHECK_EQ(leaf(a, 3, NULL), h);
	CHECK_EQ(leaf(b, 5, NULL), h);
	CHECK_EQ(leaf_perms(a, 3), RO);
	CHECK_EQ(leaf_perms(b, 5), RO);
	CHECK_EQ(leaf_perms(a, 4), SLAT_RWX);
	/* Both VMs' leaves changed: both flushed; at each flush the
	 * duplicate was still held back (the shared frame is never stale). */
	CHECK_EQ(at_flush.calls, 2);
	CHECK_EQ(at_flush.stale, 2);	/* dup, at both flushes */
	CHECK_EQ(at_flush.not_stale, 2);	/* h, at both */
	CHECK_EQ(a->mem.nstale + b->mem.nstale, 0);
	CHECK(!a->mem.slat.flush_owed && !b->mem.slat.flush_owed);
	CHECK_EQ(pool_used(&guest_pool), 2);
	CHECK_EQ(guest_share.st.merges, 1);
	CHECK_EQ(guest_share.st.frames_shared, 1);
	CHECK_EQ(guest_share.st.frames_freed, 1);
	CHECK(holds(a, 3, 7) && holds(b, 5, 7) && holds(a, 4, 8));
	CHECK_EQ(a->mem.p2m.count[P2M_SHARED], 1);
	/* The guest reads through its read-only leaf without a fault. */
	u64 v = 0, exits = a->stats.exits[EXIT_SLAT_VIOLATION];
	gload(a, 3, 8, &v, 8);
	CHECK_EQ(a->stats.exits[EXIT_SLAT_VIOLATION], exits);
	CHECK_EQ(v, ((u64 *)h)[1]);

	/* MEMSTAT says so. */
	u64 c[6];
	CHECK_EQ(hcall(a, HC_MEMSTAT, 10 * PAGE_SIZE, 48), 48);
	CHECK_EQ(vm_read_phys(a, 10 * PAGE_SIZE, c, 48), 0);
	CHECK_EQ(c[0], 2);	/* resident when counted: 3, 4 */
	CHECK_EQ(c[1], 1);	/* shared: 3 */

	/* Further rounds change nothing. */
	scan();
	scan();
	CHECK_EQ(guest_share.st.merges, 1);
	CHECK_EQ(meta(h)->refcount, 2);
	teardown(2);
}

TEST(three_pages_one_frame)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];

	gfill(a, 3, 7);
	gfill(b, 5, 7);
	gfill(a, 9, 7);		/* within one VM too */
	scan();
	scan();
	u64 h = hpa_of(a, 3);
	CHECK_EQ(state(a, 9), P2M_SHARED);
	CHECK_EQ(hpa_of(a, 9), h);
	CHECK_EQ(hpa_of(b, 5), h);
	CHECK_EQ(refs(h), 3);
	CHECK_EQ(pool_used(&guest_pool), 1);
	CHECK_EQ(guest_share.st.merges, 2);
	CHECK(holds(a, 3, 7) && holds(a, 9, 7) && holds(b, 5, 7));
	teardown(2);
}

TEST(zero_pages_map_the_zero_frame)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	const u64 z = guest_share.zero_hpa;
	u64 v;

	CHECK(z != 0 && !pool_meta(&guest_pool, z));	/* outside the pool */
	gload(a, 1, 0, &v, 8);		/* populated zero by a read */
	gfill(a, 2, 5);
	gfill(a, 2, 0);			/* written back to zeros */
	gfill(b, 7, 0);
	CHECK_EQ(pool_used(&guest_pool), 3);
	scan();
	CHECK_EQ(guest_share.zero_refs, 0);
	scan();
	CHECK_EQ(guest_share.zero_refs, 3);
	CHECK_EQ(guest_share.st.zero_merges, 3);
	CHECK_EQ(a->mem.st.zero_merges, 2);
	CHECK_EQ(pool_used(&guest_pool), 0);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	for (u64 g = 1; g <= 2; g++) {
		CHECK_EQ(state(a, g), P2M_SHARED);
		CHECK_EQ(hpa_of(a, g), z);
		CHECK_EQ(leaf(a, g, NULL), z);
		CHECK_EQ(leaf_perms(a, g), RO);
	}
	CHECK_EQ(hpa_of(b, 7), z);

	/* Reading never allocates: the hv's read, the guest's through the
	 * leaf, and the guest's after the SLAT was dropped (a read fault on
	 * a shared page maps it read-only again). */
	CHECK(holds(a, 1, 0) && holds(a, 2, 0) && holds(b, 7, 0));
	slat_drop(&a->mem.slat, 0, 2 * MiB);
	gmem_settle(&a->mem);
	v = 1;
	gload(a, 2, 64, &v, 8);
	CHECK_EQ(v, 0);
	CHECK_EQ(leaf(a, 2, NULL), z);
	CHECK_EQ(leaf_perms(a, 2), RO);
	CHECK_EQ(pool_used(&guest_pool), 0);
	CHECK_EQ(checks(2), 0);

	/* A write: a zeroed frame of its own, with the write. */
	u64 w = 0x77;
	CHECK(gstore(a, 2, 16, &w, 8));
	CHECK_EQ(state(a, 2), P2M_PRIVATE);
	CHECK(hpa_of(a, 2) != z);
	CHECK_EQ(guest_share.zero_refs, 2);
	CHECK_EQ(pool_used(&guest_pool), 1);
	u8 page[PAGE_SIZE] = { 0 };
	memcpy(page + 16, &w, 8);
	u8 got[PAGE_SIZE];
	CHECK_EQ(vm_read_phys(a, 2 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(page, got, PAGE_SIZE) == 0);
	/* A write after a drop (no leaf at all: not a permission fault). */
	slat_drop(&a->mem.slat, 0, 2 * MiB);
	gmem_settle(&a->mem);
	CHECK(gstore(a, 1, 0, &w, 8));
	CHECK_EQ(state(a, 1), P2M_PRIVATE);
	CHECK_EQ(guest_share.zero_refs, 1);
	CHECK(holds(b, 7, 0));
	teardown(2);
}

/* --- copy-on-write ------------------------------------------------------------ */

/* vm0 page 3 and vm1 page 5 hold image(7) in one shared frame. */
static u64 shared_pair(void)
{
	gfill(&vms[0], 3, 7);
	gfill(&vms[1], 5, 7);
	scan();
	scan();
	u64 h = hpa_of(&vms[0], 3);
	CHECK_EQ(refs(h), 2);
	CHECK_EQ(hpa_of(&vms[1], 5), h);
	return h;
}

TEST(write_to_a_shared_page_copies)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();
	static u8 before[PAGE_SIZE], want[PAGE_SIZE], got[PAGE_SIZE];
	memcpy(before, (void *)h, PAGE_SIZE);
	/* The next free frame holds other bytes: the copy must replace them
	 * (the duplicate freed by the merge held the same image). */
	u64 list = 12;
	gfill(a, 12, 99);
	u64 other = hpa_of(a, 12);
	CHECK_EQ(vm_write_phys(b, 20 * PAGE_SIZE, &list, 8), 0);
	CHECK_EQ(vm_write_phys(a, 20 * PAGE_SIZE, &list, 8), 0);
	CHECK_EQ(hcall(a, HC_BALLOON_INFLATE, 20 * PAGE_SIZE, 1), 1);

	/* The guest's store: a write fault on the present read-only leaf. */
	u64 exits = a->stats.exits[EXIT_SLAT_VIOLATION], w = 0xdeadbeef;
	u64 flushes = stub_flushes[0];
	watch(&h, 1);
	CHECK(gstore(a, 3, 100, &w, 8));
	/* At the flush of the old leaf the reference was still held. */
	CHECK_EQ(at_flush.calls, 1);
	CHECK_EQ(at_flush_refs, 2);
	stub_on_flush = NULL;
	CHECK_EQ(a->stats.exits[EXIT_SLAT_VIOLATION], exits + 1);
	CHECK_EQ(a->state, VM_RUNNING);
	u64 mine = hpa_of(a, 3);
	CHECK_EQ(state(a, 3), P2M_PRIVATE);
	CHECK(mine != h);
	CHECK_EQ(mine, other);	/* the pool hands out the last freed */
	CHECK_EQ(meta(mine)->state, FRAME_PRIVATE);
	CHECK_EQ(meta(mine)->owner, 1);
	CHECK_EQ(meta(mine)->gfn, 3);
	CHECK_EQ(leaf(a, 3, NULL), mine);
	CHECK_EQ(leaf_perms(a, 3), SLAT_RWX);
	/* The read-only leaf was flushed before the reference went. */
	CHECK(stub_flushes[0] > flushes);
	CHECK_EQ(refs(h), 1);
	image(want, 7);
	memcpy(want + 100, &w, 8);
	CHECK_EQ(vm_read_phys(a, 3 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(want, got, PAGE_SIZE) == 0);
	CHECK(memcmp((void *)h, before, PAGE_SIZE) == 0);
	CHECK(holds(b, 5, 7));
	CHECK_EQ(guest_share.st.cow_breaks, 1);
	CHECK_EQ(a->mem.st.cow_breaks, 1);
	CHECK_EQ(pool_used(&guest_pool), 4);	/* + the two list pages */
	CHECK_EQ(checks(2), 0);

	/* The last reference: private again in place, the same frame. */
	u64 used = pool_used(&guest_pool);
	CHECK(gstore(b, 5, 0, &w, 8));
	CHECK_EQ(state(b, 5), P2M_PRIVATE);
	CHECK_EQ(hpa_of(b, 5), h);
	CHECK_EQ(leaf(b, 5, NULL), h);
	CHECK_EQ(leaf_perms(b, 5), SLAT_RWX);
	CHECK_EQ(meta(h)->state, FRAME_PRIVATE);
	CHECK_EQ(meta(h)->owner, 2);
	CHECK_EQ(meta(h)->gfn, 5);
	CHECK_EQ(meta(h)->hashed, 0);
	CHECK_EQ(pool_used(&guest_pool), used);
	CHECK_EQ(guest_share.st.cow_in_place, 1);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	image(want, 7);
	memcpy(want, &w, 8);
	CHECK_EQ(vm_read_phys(b, 5 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(want, got, PAGE_SIZE) == 0);
	teardown(2);
}

/* The hypervisor writes a shared page: COW first, the shared frame is
 * never written. */
TEST(hv_writes_break_cow_first)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();
	static u8 before[PAGE_SIZE], want[PAGE_SIZE], got[PAGE_SIZE];
	memcpy(before, (void *)h, PAGE_SIZE);

	u64 w = 0x1234;
	CHECK_EQ(vm_write_phys(a, 3 * PAGE_SIZE + 40, &w, 8), 0);
	CHECK_EQ(state(a, 3), P2M_PRIVATE);
	CHECK(hpa_of(a, 3) != h);
	CHECK_EQ(leaf(a, 3, NULL), 0);	/* the read-only leaf is gone */
	CHECK_EQ(refs(h), 1);
	CHECK(memcmp((void *)h, before, PAGE_SIZE) == 0);
	image(want, 7);
	memcpy(want + 40, &w, 8);
	CHECK_EQ(vm_read_phys(a, 3 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(want, got, PAGE_SIZE) == 0);
	CHECK(holds(b, 5, 7));
	CHECK_EQ(checks(2), 0);

	/* MEMSTAT into a shared page of a third merge. */
	gfill(a, 8, 9);
	gfill(b, 8, 9);
	scan();
	scan();
	u64 h2 = hpa_of(a, 8);
	CHECK_EQ(refs(h2), 2);
	memcpy(before, (void *)h2, PAGE_SIZE);
	CHECK_EQ(hcall(b, HC_MEMSTAT, 8 * PAGE_SIZE + 200, 48), 48);
	CHECK_EQ(state(b, 8), P2M_PRIVATE);
	CHECK(hpa_of(b, 8) != h2);
	CHECK(memcmp((void *)h2, before, PAGE_SIZE) == 0);
	CHECK(holds(a, 8, 9));
	CHECK_EQ(refs(h2), 1);
	CHECK_EQ(checks(2), 0);
	teardown(2);
}

/*
 * The hypervisor's write to a page that holds a shared frame's last
 * reference, while the page's read-only leaf is present: the page
 * becomes private in place, and the guest's next store must work.
 */
TEST(hv_write_to_the_last_reference)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();
	u64 w = 0x4321;

	CHECK(gstore(a, 3, 0, &w, 8));		/* vm0 copies */
	CHECK_EQ(refs(h), 1);
	CHECK_EQ(leaf_perms(b, 5), RO);
	CHECK_EQ(vm_write_phys(b, 5 * PAGE_SIZE + 8, &w, 8), 0);
	CHECK_EQ(state(b, 5), P2M_PRIVATE);
	CHECK_EQ(hpa_of(b, 5), h);
	CHECK_EQ(leaf(b, 5, NULL), 0);	/* the read-only leaf went, */
	CHECK(b->mem.slat.flush_owed);	/* and its translation is flushed */
	CHECK_EQ(checks(2), 0);	/* no read-only leaf on a private page */
	/* The guest's store: no stop ("unexpected permission fault"). */
	CHECK(gstore(b, 5, 16, &w, 8));
	CHECK_EQ(b->state, VM_RUNNING);
	static u8 want[PAGE_SIZE], got[PAGE_SIZE];
	image(want, 7);
	memcpy(want + 8, &w, 8);
	memcpy(want + 16, &w, 8);
	CHECK_EQ(vm_read_phys(b, 5 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(want, got, PAGE_SIZE) == 0);
	teardown(2);
}

/* --- giving shared pages up ----------------------------------------------------- */

TEST(inflate_drops_the_reference)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();
	u64 list[2] = { 3, 6 };

	gfill(a, 6, 0);
	gfill(b, 6, 0);
	scan();
	scan();
	CHECK_EQ(guest_share.zero_refs, 2);
	CHECK_EQ(vm_write_phys(a, 20 * PAGE_SIZE, list, sizeof(list)), 0);
	CHECK_EQ(hcall(a, HC_BALLOON_INFLATE, 20 * PAGE_SIZE, 2), 2);
	CHECK_EQ(state(a, 3), P2M_BALLOONED);
	CHECK_EQ(state(a, 6), P2M_BALLOONED);
	CHECK_EQ(leaf(a, 3, NULL), 0);
	CHECK_EQ(refs(h), 1);
	CHECK_EQ(guest_share.zero_refs, 1);
	CHECK(holds(b, 5, 7) && holds(b, 6, 0) && holds(a, 3, 0));
	CHECK_EQ(checks(2), 0);

	/* The last reference: the frame goes back to the pool, after the
	 * flush of the VM that held it. */
	u64 one = 5;
	watch(&h, 1);
	CHECK_EQ(vm_write_phys(b, 21 * PAGE_SIZE, &one, 8), 0);
	CHECK_EQ(hcall(b, HC_BALLOON_INFLATE, 21 * PAGE_SIZE, 1), 1);
	CHECK(at_flush.calls >= 1);
	CHECK_EQ(at_flush.free, 0);	/* still referenced at the flush */
	CHECK_EQ(meta(h)->state, FRAME_FREE);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	CHECK(holds(b, 5, 0));
	teardown(2);
}

TEST(teardown_keeps_the_other_vm)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();

	gfill(a, 9, 11);
	gfill(b, 9, 11);
	gfill(b, 10, 11);
	gfill(a, 12, 0);
	gfill(b, 12, 0);
	gfill(b, 13, 12);
	scan();
	scan();
	u64 h2 = hpa_of(b, 9);
	CHECK_EQ(refs(h2), 3);
	CHECK_EQ(guest_share.zero_refs, 2);
	CHECK_EQ(checks(2), 0);

	vmmem_destroy(a);
	CHECK_EQ(refs(h), 1);
	CHECK_EQ(refs(h2), 2);
	CHECK_EQ(guest_share.zero_refs, 1);
	CHECK(holds(b, 5, 7) && holds(b, 9, 11) && holds(b, 10, 11) &&
	      holds(b, 12, 0) && holds(b, 13, 12));
	CHECK_EQ(pool_used(&guest_pool), 3);
	stub_log_clear();
	CHECK_EQ(vmmem_check(b), 0);
	/* The scanner goes on without vm0. */
	scan();
	scan();
	CHECK(holds(b, 5, 7) && holds(b, 13, 12));
	vmmem_destroy(b);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
	CHECK_EQ(guest_share.zero_refs, 0);
	CHECK_EQ(guest_share.st.frames_shared, 0);
	for (u64 i = 0; i < guest_pool.nframes; i++)
		CHECK_EQ(guest_pool.meta[i].state, FRAME_FREE);
}

/* --- what must not merge ----------------------------------------------------------- */

TEST(groups_keep_pages_apart)
{
	static const unsigned groups[3] = { 0, 1, 0 };
	setup(64, 3, 32, groups);
	struct vm *a = &vms[0], *b = &vms[1], *c = &vms[2];

	for (int i = 0; i < 3; i++) {
		gfill(&vms[i], 4, 21);
		gfill(&vms[i], 6, 0);
	}
	gfill(b, 7, 21);	/* within group 1: merges with b's page 4 */
	for (int r = 0; r < 4; r++)
		scan();
	u64 h = hpa_of(a, 4);
	CHECK_EQ(state(a, 4), P2M_SHARED);
	CHECK_EQ(hpa_of(c, 4), h);
	CHECK_EQ(refs(h), 2);
	CHECK_EQ(state(b, 4), P2M_SHARED);
	u64 hb = hpa_of(b, 4);
	CHECK(hb != h);
	CHECK_EQ(hpa_of(b, 7), hb);
	CHECK_EQ(refs(hb), 2);
	CHECK_EQ(meta(h)->owner, 1);	/* group + 1 */
	CHECK_EQ(meta(hb)->owner, 2);
	/* The zero frame is everybody's: it holds no data of anyone. */
	CHECK_EQ(guest_share.zero_refs, 3);
	CHECK(holds(a, 4, 21) && holds(b, 4, 21) && holds(c, 4, 21));
	teardown(3);
}

TEST(volatile_pages_do_not_merge)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];

	gfill(a, 3, 30);
	gfill(b, 5, 31);
	scan();
	gfill(a, 3, 31);	/* now identical to b's, but just changed */
	scan();
	CHECK_EQ(guest_share.st.volatile_pages, 1);
	CHECK_EQ(guest_share.st.merges, 0);
	CHECK_EQ(state(a, 3), P2M_PRIVATE);
	CHECK_EQ(state(b, 5), P2M_PRIVATE);
	gfill(b, 5, 32);	/* b changes too */
	scan();
	CHECK_EQ(guest_share.st.volatile_pages, 2);
	CHECK_EQ(guest_share.st.merges, 0);
	/* Changing all the time: never merged. */
	for (u64 r = 0; r < 6; r++) {
		gfill(a, 3, 40 + r);
		gfill(b, 5, 40 + r);
		scan();
		CHECK_EQ(guest_share.st.merges, 0);
	}
	CHECK_EQ(guest_share.st.volatile_pages, 14);
	/* Left alone, they merge after two rounds. */
	scan();
	scan();
	CHECK_EQ(guest_share.st.merges, 1);
	CHECK_EQ(hpa_of(a, 3), hpa_of(b, 5));
	CHECK(holds(a, 3, 45) && holds(b, 5, 45));
	teardown(2);
}

/* --- out of memory ------------------------------------------------------------------ */

TEST(cow_with_the_pool_empty_changes_nothing)
{
	setup(8, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 h = shared_pair();
	static u8 before[PAGE_SIZE];

	for (u64 g = 10; pool_used(&guest_pool) < guest_pool.nframes; g++)
		gfill(b, g, 100 + g);
	CHECK_EQ(guest_pool.st.free, 0);
	memcpy(before, (void *)h, PAGE_SIZE);
	u64 shared = guest_share.st.frames_shared, breaks =
		guest_share.st.cow_breaks;

	/* The hv's write and MEMSTAT: refused, nothing written. */
	u64 w = 0x99;
	CHECK_EQ(vm_write_phys(a, 3 * PAGE_SIZE, &w, 8), -1);
	CHECK_EQ(hcall(a, HC_MEMSTAT, 3 * PAGE_SIZE, 48), NEG(HC_ENOMEM));
	CHECK_EQ(state(a, 3), P2M_SHARED);
	CHECK_EQ(leaf_perms(a, 3), RO);
	/* The guest's store: that VM stops, out of memory. */
	CHECK(!gstore(a, 3, 0, &w, 8));
	CHECK_EQ(a->state, VM_STOPPED);
	CHECK(strstr(a->stop_reason, "out of guest memory") != NULL);
	CHECK_EQ(state(a, 3), P2M_SHARED);
	CHECK_EQ(hpa_of(a, 3), h);
	CHECK_EQ(hpa_of(b, 5), h);
	CHECK_EQ(refs(h), 2);
	CHECK_EQ(leaf(a, 3, NULL), h);
	CHECK(memcmp((void *)h, before, PAGE_SIZE) == 0);
	CHECK_EQ(guest_share.st.frames_shared, shared);
	CHECK_EQ(guest_share.st.cow_breaks, breaks);
	CHECK_EQ(guest_pool.st.free, 0);
	CHECK(holds(a, 3, 7) && holds(b, 5, 7));
	CHECK_EQ(b->state, VM_RUNNING);
	CHECK_EQ(checks(2), 0);
	/* The other VM goes on. */
	CHECK(gstore(b, 10, 0, &w, 8));
	CHECK_EQ(b->state, VM_RUNNING);
	teardown(2);
}

/* --- the oracle and the self-check ---------------------------------------------------- */

TEST(oracle_counts_a_small_case)
{
	setup(64, 2, 32, NULL);
	struct vm *a = &vms[0], *b = &vms[1];
	static u8 scratch[64 * 16];
	u64 v;

	gfill(a, 1, 50);
	gfill(a, 2, 50);
	gfill(b, 1, 50);
	gload(a, 5, 0, &v, 8);	/* zero */
	gfill(b, 6, 0);		/* zero */
	gfill(b, 7, 51);	/* unique */
	CHECK_EQ(share_resident(&guest_share), 6);
	struct share_oracle o = share_oracle(&guest_share, scratch);
	CHECK_EQ(o.resident, 6);
	CHECK_EQ(o.used, 6);
	CHECK_EQ(o.ideal, 2);
	CHECK_EQ(share_possible(&o), 4);
	CHECK_EQ(share_saved(&o), 0);
	scan();
	scan();
	o = share_oracle(&guest_share, scratch);
	CHECK_EQ(o.resident, 6);
	CHECK_EQ(o.used, 2);
	CHECK_EQ(o.used, pool_used(&guest_pool));
	CHECK_EQ(o.ideal, 2);
	CHECK_EQ(share_possible(&o), 4);
	CHECK_EQ(share_saved(&o), 4);
	teardown(2);
}

TEST(share_check_finds_a_broken_refcount)
{
	setup(64, 2, 32, NULL);
	u64 h = shared_pair();

	CHECK_EQ(checks(2), 0);
	meta(h)->refcount++;
	stub_log_clear();
	CHECK(vmmem_check(&vms[0]) > 0);
	CHECK(stub_log_has("share-check: shared frame"));
	CHECK(stub_log_has("refcount 3, 2 pages map it"));
	meta(h)->refcount--;
	guest_share.zero_refs++;
	stub_log_clear();
	CHECK(vmmem_check(&vms[0]) > 0);
	CHECK(stub_log_has("map the zero frame"));
	guest_share.zero_refs--;
	/* A shared frame whose bytes changed (a write into it). */
	((u8 *)h)[77] ^= 1;
	stub_log_clear();
	CHECK(vmmem_check(&vms[0]) > 0);
	CHECK(stub_log_has("its bytes changed"));
	((u8 *)h)[77] ^= 1;
	CHECK_EQ(checks(2), 0);
	teardown(2);
}

/* --- a hash that says nothing ---------------------------------------------------------- */

#define CONST_HASH 0x5eed5eedull

static u64 const_hash(const void *page)
{
	(void)page;
	return CONST_HASH;
}

/*
 * Every page hashes alike, so the checksum rule sees no change and every
 * candidate is on one chain: only the byte comparison keeps different
 * pages apart.  Pages: 30 different ones, one that differs from a
 * duplicated image in one byte only, 5 + 3 copies of two images, 4 zero
 * pages; some are rewritten between rounds.
 */
TEST(constant_hash_never_merges_different_pages)
{
	setup(256, 3, 64, NULL);
	guest_share.hash = const_hash;
	guest_share.zero_hash = (u32)CONST_HASH;
	u64 want[3][64];	/* image seed per page; ~0: never written */
	static u8 page[PAGE_SIZE];

	memset(want, 0xff, sizeof(want));
	for (u64 i = 0; i < 30; i++)
		want[i % 3][i / 3] = 1000 + i;
	static const struct { int v; u64 g, seed; } same[] = {
		{ 0, 20, 7 }, { 1, 20, 7 }, { 2, 20, 7 }, { 0, 21, 7 },
		{ 2, 33, 7 }, { 1, 40, 8 }, { 2, 41, 8 }, { 0, 42, 8 },
		{ 0, 50, 0 }, { 1, 50, 0 }, { 2, 51, 0 }, { 2, 52, 0 },
	};
	for (unsigned k = 0; k < ARRAY_SIZE(same); k++)
		want[same[k].v][same[k].g] = same[k].seed;
	for (int v = 0; v < 3; v++)
		for (u64 g = 0; g < 64; g++)
			if (want[v][g] != ~0ull)
				gfill(&vms[v], g, want[v][g]);
	/* One byte away from image 7. */
	image(page, 7);
	page[2049] ^= 0x40;
	CHECK(gstore(&vms[1], 60, 0, page, PAGE_SIZE));

	for (int r = 0; r < 12; r++) {
		scan();
		if (r == 5) {	/* rewritten: stable to this hash at once */
			gfill(&vms[0], 21, 1011);	/* like vm2's page 3 */
			want[0][21] = 1011;
			gfill(&vms[1], 3, 7);
			want[1][3] = 7;
		}
		for (int v = 0; v < 3; v++)
			for (u64 g = 0; g < 64; g++)
				if (want[v][g] != ~0ull)
					CHECK(holds(&vms[v], g, want[v][g]));
	}
	image(page, 7);
	page[2049] ^= 0x40;
	static u8 got[PAGE_SIZE];
	CHECK_EQ(vm_read_phys(&vms[1], 60 * PAGE_SIZE, got, PAGE_SIZE), 0);
	CHECK(memcmp(page, got, PAGE_SIZE) == 0);
	CHECK_EQ(state(&vms[1], 60), P2M_PRIVATE);

	/* Shared frames only among identical pages: every frame's pages
	 * hold one image (holds() above read each through its p2m). */
	u64 frame_seed[256];
	memset(frame_seed, 0xff, sizeof(frame_seed));
	u64 sharing = 0;
	for (int v = 0; v < 3; v++)
		for (u64 g = 0; g < 64; g++) {
			if (state(&vms[v], g) != P2M_SHARED)
				continue;
			sharing++;
			u64 h = hpa_of(&vms[v], g);
			if (h == guest_share.zero_hpa) {
				CHECK_EQ(want[v][g], 0);
				continue;
			}
			u64 i = (h - guest_pool.base) / PAGE_SIZE;
			if (frame_seed[i] == ~0ull)
				frame_seed[i] = want[v][g];
			CHECK_EQ(frame_seed[i], want[v][g]);
		}
	/* 5 pages of image 7 (vm0's page 21 left, vm1's page 3 came), 3 of
	 * image 8, 2 of image 1011, 4 zero pages: all shared, in 3 frames
	 * and the zero frame. */
	CHECK_EQ(sharing, 14);
	CHECK_EQ(guest_share.st.frames_shared, 3);
	CHECK_EQ(guest_share.zero_refs, 4);
	CHECK(guest_share.st.collisions > 0);
	CHECK_EQ(checks(3), 0);
	printf("  constant hash: %llu collisions, %llu merges, %llu stale "
	       "candidates\n", (unsigned long long)guest_share.st.collisions,
	       (unsigned long long)guest_share.st.merges,
	       (unsigned long long)guest_share.st.stale_candidates);
	teardown(3);
}
