/*
 * test_swap.c - swapping guest pages to the RAM-disk (mm/swap.c,
 * mm/ramdisk.c) and swap-in (mm/gmem.c), through the real entry points:
 * guest accesses are SLAT violations handed to hv/exit.c's exit_handle()
 * and loads and stores through the leaf the core installed; the
 * hypervisor's own accesses are vm_read_phys/vm_write_phys and
 * hypercalls; the clock is swap_reclaim() as a fault and swap_background()
 * as hv/run.c call it.  hv/vmmem.c sets swapping up (guest_swap_init)
 * over tests/stub_hv.c's identity-mapped memory, with the real NPT
 * format.  The host CPU never sets a SLAT accessed flag: a test that
 * wants a page to look used sets the NPT A bit (bit 5) in its leaf, as
 * the CPU's nested walk would.
 *
 * What is proven:
 *   - the slot allocator hands out every slot once, then SWAP_NO_SLOT; a
 *     freed slot is handed out again; a double free, or a free of a slot
 *     beyond the device, panics;
 *   - the RAM-disk round-trips a block and panics, naming the block, on a
 *     read or write of block nblocks;
 *   - the clock: a page never accessed is a victim; a page whose accessed
 *     flag was cleared by one pass of the hand and set again before the
 *     next is not; shared pages are never chosen; swap_reclaim frees the
 *     frames asked for; swap_background works between its watermarks;
 *   - swap-out: an all-zero victim becomes UNPOPULATED without a write; a
 *     page with a clean copy goes back to its slot without a write;
 *   - swap-in: the hv reads a swapped page in place (no swap-in); a guest
 *     read brings it back read-only and keeps the slot as a clean copy; a
 *     later write drops the copy and maps it writable; the hv's write into
 *     a clean-copy page drops the copy and the read-only leaf;
 *   - BALLOON_INFLATE of a swapped page frees its slot; teardown frees
 *     every slot; out of pool frames and slots both, the VM stops with
 *     "out of memory: pool N frames and swap M slots all in use", nothing
 *     lost; swap_check() finds a slot with the wrong owner.
 */
#include <stdlib.h>

#include "unit.h"
#include "stub_hv.h"
#include "../arch/x86/svm/npt.h"
#include "../hv/exit.h"
#include "../hv/hypercall.h"
#include "../hv/hvmem.h"
#include "../hv/vmmem.h"

static struct vm vms[2];

#define RO (SLAT_R | SLAT_X)
#define NPT_A (1ull << 5)

/* --- catching panics ----------------------------------------------------- */

static jmp_buf panic_jb;

#define EXPECT_PANIC(call, msg)                                             \
	do {                                                                \
		stub_panic_msg[0] = 0;                                      \
		stub_panic_jmp = &panic_jb;                                 \
		if (setjmp(panic_jb) == 0) {                                \
			call;                                               \
			stub_panic_jmp = NULL;                              \
			printf("  %s:%d: %s did not panic\n", __FILE__,      \
			       __LINE__, #call);                            \
			unit_failed_checks++;                               \
		} else if (!strstr(stub_panic_msg, msg)) {                  \
			printf("  %s:%d: panic \"%s\", wanted \"%s\"\n",     \
			       __FILE__, __LINE__, stub_panic_msg, msg);    \
			unit_failed_checks++;                               \
		}                                                           \
	} while (0)

/* --- the slot allocator and the RAM-disk --------------------------------- */

TEST(slots_alloc_until_full_then_reuse)
{
	static u8 disk[8 * PAGE_SIZE];
	static u64 table[8];
	struct blockdev dev;
	struct swap s;
	u8 seen[8] = { 0 };

	ramdisk_init(&dev, disk, 8);
	swap_init(&s, &dev, NULL, table, 0, 0);
	CHECK(swap_on(&s));
	CHECK_EQ(s.nslots, 8);
	for (unsigned i = 0; i < 8; i++) {
		u64 slot = swap_slot_alloc(&s, 1, 100 + i);
		CHECK(slot < 8);
		if (slot < 8) {
			CHECK_EQ(seen[slot], 0);	/* each slot once */
			seen[slot] = 1;
		}
	}
	CHECK_EQ(s.used, 8);
	CHECK_EQ(s.high_water, 8);
	CHECK_EQ(swap_slot_alloc(&s, 1, 200), SWAP_NO_SLOT);
	CHECK_EQ(s.used, 8);
	swap_slot_free(&s, 5);
	swap_slot_free(&s, 2);
	CHECK_EQ(s.used, 6);
	u64 a = swap_slot_alloc(&s, 0, 1), b = swap_slot_alloc(&s, 0, 2);
	CHECK((a == 2 && b == 5) || (a == 5 && b == 2));
	CHECK_EQ(swap_slot_alloc(&s, 0, 3), SWAP_NO_SLOT);
	CHECK_EQ(s.high_water, 8);

	/* Freeing what is free, or beyond the device, is a bug: panic. */
	swap_slot_free(&s, 3);
	EXPECT_PANIC(swap_slot_free(&s, 3), "slot 3 is not in use");
	EXPECT_PANIC(swap_slot_free(&s, 8), "slot 8 is not in use");
	CHECK_EQ(s.used, 7);
	CHECK_EQ(swap_slot_alloc(&s, 0, 4), 3);

	/* No device: swapping is off. */
	swap_init(&s, NULL, NULL, NULL, 0, 0);
	CHECK(!swap_on(&s));
	CHECK_EQ(swap_reclaim(&s, 10), 0);
}

TEST(ramdisk_round_trips_and_checks_bounds)
{
	static u8 disk[4 * PAGE_SIZE], in[PAGE_SIZE], out[PAGE_SIZE];
	struct blockdev dev;

	ramdisk_init(&dev, disk, 4);
	CHECK_EQ(dev.nblocks, 4);
	for (u64 b = 0; b < 4; b++) {
		memset(in, 0x10 + (int)b, PAGE_SIZE);
		in[b * 7] = 0xee;
		dev.write(&dev, b, in);
	}
	for (u64 b = 4; b-- > 0;) {
		memset(in, 0x10 + (int)b, PAGE_SIZE);
		in[b * 7] = 0xee;
		dev.read(&dev, b, out);
		CHECK(memcmp(in, out, PAGE_SIZE) == 0);
	}
	CHECK_EQ(dev.writes, 4);
	CHECK_EQ(dev.reads, 4);
	memset(out, 0x5a, PAGE_SIZE);
	EXPECT_PANIC(dev.read(&dev, 4, out), "read of block 4, but the device "
		     "has 4");
	EXPECT_PANIC(dev.write(&dev, 4, in), "write of block 4, but the device "
		     "has 4");
	EXPECT_PANIC(dev.write(&dev, ~0ull, in), "write of block "
		     "18446744073709551615");
	/* Nothing moved. */
	CHECK_EQ(dev.writes, 4);
	CHECK_EQ(dev.reads, 4);
	for (u64 i = 0; i < PAGE_SIZE; i++)
		if (out[i] != 0x5a) {
			CHECK(out[i] == 0x5a);
			break;
		}
}

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

/* The leaf entry for gfn, or NULL (tests/stub_hv.c). */
#define leaf_entry stub_leaf

static u64 leaf(struct vm *vm, u64 gfn, unsigned *perms)
{
	u64 *e = leaf_entry(vm, gfn);

	if (perms)
		*perms = e ? vm->mem.slat.fmt->perms(*e) : 0;
	return e ? vm->mem.slat.fmt->address(*e) : 0;
}

static unsigned leaf_perms(struct vm *vm, u64 gfn)
{
	unsigned p;

	leaf(vm, gfn, &p);
	return p;
}

/* The CPU used page gfn: its nested walk set the leaf's accessed flag. */
static void touch_a(struct vm *vm, u64 gfn)
{
	u64 *e = leaf_entry(vm, gfn);

	CHECK(e != NULL);
	if (e)
		*e |= NPT_A;
}

static bool a_set(struct vm *vm, u64 gfn)
{
	u64 *e = leaf_entry(vm, gfn);

	return e && (*e & NPT_A);
}

/* The guest stores through its leaf, after a violation if it must (a
 * read-only leaf: a permission fault); the access sets the A bit as the
 * CPU would.  False if the VM stopped. */
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

static bool gload(struct vm *vm, u64 gfn, u64 off, void *buf, u64 len)
{
	u64 hpa = leaf(vm, gfn, NULL);

	if (!hpa) {
		fault(vm, gfn * PAGE_SIZE + off, false, false);
		if (vm->state != VM_RUNNING)
			return false;
		gmem_settle(&vm->mem);
		hpa = leaf(vm, gfn, NULL);
	}
	CHECK(hpa != 0);
	if (!hpa)
		return false;
	memcpy(buf, (u8 *)hpa + off, len);
	return true;
}

static void image(u8 *page, u64 seed)
{
	u64 x = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;

	for (u64 i = 0; i < PAGE_SIZE; i += 8) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		memcpy(page + i, &x, 8);
	}
}

static bool gfill(struct vm *vm, u64 gfn, u64 seed)
{
	static u8 page[PAGE_SIZE];

	if (seed)
		image(page, seed);
	else
		memset(page, 0, PAGE_SIZE);
	return gstore(vm, gfn, 0, page, PAGE_SIZE);
}

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

static u64 slot_of(struct vm *vm, u64 gfn)
{
	return p2m_value(&vm->mem.p2m, gfn) >> PAGE_SHIFT;
}

static struct frame_meta *meta_of(struct vm *vm, u64 gfn)
{
	return pool_meta(&guest_pool, p2m_value(&vm->mem.p2m, gfn));
}

static bool slot_used(u64 slot)
{
	return slot < guest_swap.nslots && !(guest_swap.slot[slot] >> 63);
}

/* A fresh machine: a pool of pool_pages, a RAM-disk of slots blocks,
 * sharing if share, n VMs of vm_pages pages. */
static void setup(u64 pool_pages, u64 slots, bool share, int n, u64 vm_pages)
{
	stub_phys_init(pool_pages * PAGE_SIZE);
	if (share)
		stub_share_init(true);
	stub_swap_init(slots * PAGE_SIZE, 0, 0);
	CHECK(swap_on(&guest_swap));
	for (int i = 0; i < n; i++)
		CHECK_EQ(stub_vm_create(&vms[i], i, vm_pages * PAGE_SIZE,
					&npt_format), 0);
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

static void teardown(int n)
{
	CHECK_EQ(checks(n), 0);
	for (int i = 0; i < n; i++)
		vmmem_destroy(&vms[i]);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(guest_swap.used, 0);
	for (u64 s = 0; s < guest_swap.nslots; s++)
		CHECK(!slot_used(s));
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
	stub_on_flush = NULL;
}

/* The pool full of pages 0..n-1 of vm, page g holding image(seed0 + g). */
static void fill_pool(struct vm *vm, u64 seed0)
{
	for (u64 g = 0; guest_pool.st.free; g++)
		CHECK(gfill(vm, g, seed0 + g));
}

/* --- the clock ------------------------------------------------------------- */

TEST(clock_takes_unaccessed_pages_and_spares_accessed_ones)
{
	setup(8, 16, false, 1, 32);
	struct vm *a = &vms[0];

	fill_pool(a, 100);
	CHECK_EQ(guest_pool.st.free, 0);
	/* Every page was used once (its leaf's A set). */
	for (u64 g = 0; g < 8; g++)
		touch_a(a, g);
	u64 flushes = stub_flushes[0];

	/* One frame: the first turn clears every flag, the second takes
	 * the first page whose flag is still clear. */
	CHECK_EQ(swap_reclaim(&guest_swap, 1), 1);
	CHECK_EQ(guest_pool.st.free, 1);
	CHECK_EQ(guest_swap.st.passed_over, 8);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	CHECK(stub_flushes[0] > flushes);	/* before the flags count */
	for (u64 g = 1; g < 8; g++) {
		CHECK_EQ(state(a, g), P2M_PRIVATE);
		CHECK(!a_set(a, g));	/* cleared by the hand's first pass */
	}

	/* Between that pass and the next, the guest uses the even pages:
	 * four more frames come from the odd ones only. */
	for (u64 g = 2; g < 8; g += 2)
		touch_a(a, g);
	CHECK_EQ(swap_reclaim(&guest_swap, 5), 4);
	CHECK_EQ(guest_pool.st.free, 5);
	for (u64 g = 1; g < 8; g++)
		CHECK_EQ(state(a, g), g % 2 ? P2M_SWAPPED : P2M_PRIVATE);
	CHECK_EQ(guest_swap.st.passed_over, 8 + 3);
	CHECK_EQ(guest_swap.st.swap_outs, 5);
	CHECK_EQ(guest_swap.used, 5);
	CHECK_EQ(a->mem.p2m.count[P2M_SWAPPED], 5);
	/* No leaf maps a swapped page; their bytes are in their slots. */
	for (u64 g = 0; g < 8; g++) {
		if (g % 2 || !g) {
			CHECK_EQ(leaf(a, g, NULL), 0);
			CHECK(slot_used(slot_of(a, g)));
		}
		CHECK(holds(a, g, 100 + g));
	}
	CHECK_EQ(checks(1), 0);
	teardown(1);
}

TEST(clock_takes_a_never_accessed_page_at_once)
{
	setup(8, 16, false, 1, 32);
	struct vm *a = &vms[0];

	fill_pool(a, 200);
	touch_a(a, 0);
	touch_a(a, 1);
	/* Page 2 was never used: the hand's first visit takes it. */
	CHECK_EQ(swap_reclaim(&guest_swap, 1), 1);
	CHECK_EQ(state(a, 0), P2M_PRIVATE);
	CHECK_EQ(state(a, 1), P2M_PRIVATE);
	CHECK_EQ(state(a, 2), P2M_SWAPPED);
	CHECK_EQ(guest_swap.st.passed_over, 2);
	CHECK(holds(a, 2, 202));
	teardown(1);
}

TEST(swap_reclaim_frees_what_is_asked_and_background_between_marks)
{
	setup(32, 64, false, 2, 64);
	struct vm *a = &vms[0], *b = &vms[1];

	for (u64 g = 0; g < 16; g++) {
		CHECK(gfill(a, g, 300 + g));
		CHECK(gfill(b, g, 400 + g));
	}
	CHECK_EQ(guest_pool.st.free, 0);
	CHECK_EQ(swap_reclaim(&guest_swap, 5), 5);
	CHECK_EQ(guest_pool.st.free, 5);
	CHECK_EQ(swap_reclaim(&guest_swap, 5), 0);	/* there already */
	CHECK_EQ(swap_reclaim(&guest_swap, 12), 7);
	CHECK_EQ(guest_pool.st.free, 12);
	/* Both VMs' pages are candidates: 24 more take from both. */
	CHECK_EQ(swap_reclaim(&guest_swap, 20), 8);
	CHECK(a->mem.p2m.count[P2M_SWAPPED] > 0);
	CHECK(b->mem.p2m.count[P2M_SWAPPED] > 0);
	CHECK_EQ(a->mem.p2m.count[P2M_SWAPPED] +
		 b->mem.p2m.count[P2M_SWAPPED], 20);
	CHECK_EQ(guest_swap.used, 20);

	/* Background: nothing while free >= low; below it, up to high. */
	guest_swap.low = 4;
	guest_swap.high = 8;
	for (u64 g = 16; guest_pool.st.free > 4; g++)
		CHECK(gfill(a, g, 300 + g));
	u64 outs = guest_swap.st.swap_outs;
	swap_background(&guest_swap);
	CHECK_EQ(guest_swap.st.swap_outs, outs);
	CHECK(gfill(a, 40, 340));
	CHECK_EQ(guest_pool.st.free, 3);
	swap_background(&guest_swap);
	CHECK_EQ(guest_pool.st.free, 8);
	CHECK_EQ(guest_swap.st.swap_outs, outs + 5);
	for (u64 g = 0; g < 16; g++)
		CHECK(holds(a, g, 300 + g) && holds(b, g, 400 + g));
	CHECK(holds(a, 40, 340));
	teardown(2);
}

TEST(clock_passes_over_shared_pages)
{
	setup(8, 16, true, 1, 32);
	struct vm *a = &vms[0];

	/* Pages 0..3 one image, 4..7 unique. */
	for (u64 g = 0; g < 8; g++)
		CHECK(gfill(a, g, g < 4 ? 7 : 500 + g));
	share_scan(&guest_share, 1u << 20);
	share_scan(&guest_share, 1u << 20);
	CHECK_EQ(a->mem.p2m.count[P2M_SHARED], 4);
	for (u64 g = 0; g < 8; g++)
		touch_a(a, g);
	/* Everything private goes, never a shared page. */
	swap_reclaim(&guest_swap, guest_pool.nframes);
	for (u64 g = 0; g < 8; g++) {
		CHECK_EQ(state(a, g), g < 4 ? P2M_SHARED : P2M_SWAPPED);
		CHECK(holds(a, g, g < 4 ? 7 : 500 + g));
	}
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes - 1);
	teardown(1);
}

/* --- swap-out: zero and clean drops ---------------------------------------- */

TEST(zero_victim_becomes_unpopulated_without_a_write)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 v = 1;

	CHECK(gload(a, 0, 0, &v, 8));	/* populated zero by a read */
	CHECK_EQ(v, 0);
	CHECK(gfill(a, 1, 0));		/* written, but all zeros */
	CHECK(gfill(a, 2, 601));
	CHECK(gfill(a, 3, 602));
	touch_a(a, 2);
	touch_a(a, 3);
	u64 writes = guest_swap.dev->writes;
	CHECK_EQ(swap_reclaim(&guest_swap, 2), 2);
	CHECK_EQ(state(a, 0), P2M_UNPOPULATED);
	CHECK_EQ(state(a, 1), P2M_UNPOPULATED);
	CHECK_EQ(guest_swap.dev->writes, writes);
	CHECK_EQ(guest_swap.st.zero_drops, 2);
	CHECK_EQ(guest_swap.st.swap_outs, 0);
	CHECK_EQ(guest_swap.used, 0);
	CHECK_EQ(leaf(a, 0, NULL), 0);
	CHECK(holds(a, 0, 0) && holds(a, 1, 0));
	/* It comes back as a zero page. */
	v = 1;
	CHECK(gload(a, 1, 8, &v, 8));
	CHECK_EQ(v, 0);
	CHECK_EQ(state(a, 1), P2M_PRIVATE);
	teardown(1);
}

/* --- swap-in ---------------------------------------------------------------- */

/* vm a's page 0 holds image(seed) and is swapped out; returns its slot. */
static u64 swapped_page(struct vm *a, u64 seed)
{
	CHECK(gfill(a, 0, seed));
	for (u64 g = 1; guest_pool.st.free; g++) {
		CHECK(gfill(a, g, seed + g));
		touch_a(a, g);
	}
	CHECK_EQ(swap_reclaim(&guest_swap, 1), 1);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	return slot_of(a, 0);
}

TEST(hv_reads_a_swapped_page_in_place)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 700);
	u64 reads = guest_swap.dev->reads, ins = guest_swap.st.swap_ins;
	static u8 want[PAGE_SIZE];
	u8 got[100];

	CHECK(holds(a, 0, 700));
	image(want, 700);
	CHECK_EQ(vm_read_phys(a, 4000, got, 100), 0);	/* across the end */
	CHECK(memcmp(got, want + 4000, 96) == 0);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	CHECK_EQ(slot_of(a, 0), slot);
	CHECK_EQ(guest_swap.st.swap_ins, ins);
	CHECK_EQ(guest_swap.dev->reads, reads + 2);
	CHECK_EQ(guest_pool.st.free, 1);
	teardown(1);
}

TEST(read_fault_keeps_a_clean_copy_and_a_write_drops_it)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 800);
	static u8 want[PAGE_SIZE];
	u64 v = 0;

	image(want, 800);
	/* A read: back, read-only, the slot kept as its clean copy. */
	CHECK(gload(a, 0, 64, &v, 8));
	CHECK(memcmp(&v, want + 64, 8) == 0);
	CHECK_EQ(state(a, 0), P2M_PRIVATE);
	CHECK_EQ(leaf_perms(a, 0), RO);
	CHECK(meta_of(a, 0)->swapcopy);
	CHECK_EQ(meta_of(a, 0)->checksum, slot);
	CHECK(slot_used(slot));
	CHECK_EQ(guest_swap.used, 1);
	CHECK_EQ(guest_swap.st.swap_ins, 1);
	CHECK_EQ(a->mem.p2m.count[P2M_SWAPPED], 0);
	CHECK_EQ(checks(1), 0);

	/* A write: a permission fault; the copy goes, the leaf grants all. */
	u64 w = 0x1234;
	CHECK(gstore(a, 0, 128, &w, 8));
	memcpy(want + 128, &w, 8);
	CHECK_EQ(leaf_perms(a, 0), SLAT_RWX);
	CHECK(!meta_of(a, 0)->swapcopy);
	CHECK(!slot_used(slot));
	CHECK_EQ(guest_swap.used, 0);
	u8 got[PAGE_SIZE];
	CHECK_EQ(vm_read_phys(a, 0, got, PAGE_SIZE), 0);
	CHECK(memcmp(got, want, PAGE_SIZE) == 0);
	CHECK_EQ(checks(1), 0);

	/* Out again: a real write, to some slot. */
	u64 writes = guest_swap.dev->writes;
	swap_reclaim(&guest_swap, guest_pool.nframes);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	CHECK(guest_swap.dev->writes > writes);
	CHECK_EQ(vm_read_phys(a, 0, got, PAGE_SIZE), 0);
	CHECK(memcmp(got, want, PAGE_SIZE) == 0);
	teardown(1);
}

TEST(write_fault_on_a_swapped_page_frees_its_slot)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 850);
	u64 w = 0x55;

	CHECK(gstore(a, 0, 0, &w, 8));
	CHECK_EQ(state(a, 0), P2M_PRIVATE);
	CHECK_EQ(leaf_perms(a, 0), SLAT_RWX);
	CHECK(!meta_of(a, 0)->swapcopy);
	CHECK(!slot_used(slot));
	CHECK_EQ(guest_swap.used, 0);
	static u8 want[PAGE_SIZE], got[PAGE_SIZE];
	image(want, 850);
	memcpy(want, &w, 8);
	CHECK_EQ(vm_read_phys(a, 0, got, PAGE_SIZE), 0);
	CHECK(memcmp(got, want, PAGE_SIZE) == 0);
	teardown(1);
}

TEST(clean_copy_evicted_without_a_write)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 900), v;

	CHECK(gload(a, 0, 0, &v, 8));
	CHECK(meta_of(a, 0)->swapcopy);
	u64 writes = guest_swap.dev->writes;
	for (u64 g = 1; g < 4; g++)
		touch_a(a, g);
	CHECK_EQ(swap_reclaim(&guest_swap, guest_pool.st.free + 1), 1);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	CHECK_EQ(slot_of(a, 0), slot);
	CHECK_EQ(guest_swap.dev->writes, writes);
	CHECK_EQ(guest_swap.st.clean_drops, 1);
	CHECK_EQ(guest_swap.used, 1);
	CHECK(holds(a, 0, 900));
	teardown(1);
}

TEST(hv_write_into_a_clean_copy_drops_it_and_the_leaf)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 950), v;

	CHECK(gload(a, 0, 0, &v, 8));
	CHECK_EQ(leaf_perms(a, 0), RO);
	u64 hpa = p2m_value(&a->mem.p2m, 0), w = 0xabcdef;
	CHECK_EQ(vm_write_phys(a, 256, &w, 8), 0);
	CHECK_EQ(state(a, 0), P2M_PRIVATE);
	CHECK_EQ(p2m_value(&a->mem.p2m, 0), hpa);	/* in place */
	CHECK(!meta_of(a, 0)->swapcopy);
	CHECK(!slot_used(slot));
	CHECK_EQ(leaf(a, 0, NULL), 0);	/* the read-only leaf went */
	CHECK(a->mem.slat.flush_owed);
	CHECK_EQ(checks(1), 0);
	/* Evicted now, it is written out: the write is not lost. */
	static u8 want[PAGE_SIZE], got[PAGE_SIZE];
	image(want, 950);
	memcpy(want + 256, &w, 8);
	gmem_settle(&a->mem);
	for (u64 g = 1; g < 4; g++)
		touch_a(a, g);
	u64 writes = guest_swap.dev->writes;
	CHECK_EQ(swap_reclaim(&guest_swap, guest_pool.st.free + 1), 1);
	CHECK_EQ(state(a, 0), P2M_SWAPPED);
	CHECK_EQ(guest_swap.dev->writes, writes + 1);
	CHECK_EQ(vm_read_phys(a, 0, got, PAGE_SIZE), 0);
	CHECK(memcmp(got, want, PAGE_SIZE) == 0);
	teardown(1);
}

/* --- giving pages up ---------------------------------------------------------- */

TEST(inflate_of_a_swapped_page_frees_its_slot)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 1000);
	u64 list[1] = { 0 };

	/* The list in page 1 (resident). */
	CHECK_EQ(vm_write_phys(a, PAGE_SIZE, list, 8), 0);
	CHECK_EQ(hcall(a, HC_BALLOON_INFLATE, PAGE_SIZE, 1), 1);
	CHECK_EQ(state(a, 0), P2M_BALLOONED);
	CHECK(!slot_used(slot));
	CHECK_EQ(guest_swap.used, 0);
	CHECK(holds(a, 0, 0));
	CHECK_EQ(checks(1), 0);

	/* A clean copy too. */
	slot = 0;
	u64 v;
	for (u64 g = 4; guest_pool.st.free; g++)
		CHECK(gfill(a, g, 1000 + g));
	swap_reclaim(&guest_swap, 1);
	u64 g = 0;
	while (state(a, g) != P2M_SWAPPED)
		g++;
	slot = slot_of(a, g);
	CHECK(gload(a, g, 0, &v, 8));
	CHECK(meta_of(a, g)->swapcopy);
	list[0] = g;
	CHECK_EQ(vm_write_phys(a, 20 * PAGE_SIZE, list, 8), 0);
	CHECK_EQ(hcall(a, HC_BALLOON_INFLATE, 20 * PAGE_SIZE, 1), 1);
	CHECK_EQ(state(a, g), P2M_BALLOONED);
	CHECK(!slot_used(slot));
	/* (the list's page may have cost another page its frame) */
	CHECK_EQ(guest_swap.used, a->mem.p2m.count[P2M_SWAPPED]);
	teardown(1);
}

TEST(teardown_frees_every_slot)
{
	setup(8, 32, false, 2, 32);
	struct vm *a = &vms[0], *b = &vms[1];
	u64 v;

	for (u64 g = 0; g < 12; g++) {
		CHECK(gfill(a, g, 1100 + g));
		CHECK(gfill(b, g, 1200 + g));
	}
	CHECK(gload(a, 0, 0, &v, 8));	/* clean copies */
	CHECK(gload(b, 1, 0, &v, 8));
	CHECK(guest_swap.used >= 16);
	CHECK_EQ(checks(2), 0);
	vmmem_destroy(a);
	/* b's slots stay, and b's data. */
	CHECK_EQ(guest_swap.used, b->mem.p2m.count[P2M_SWAPPED] +
				  (state(b, 1) == P2M_PRIVATE &&
				   meta_of(b, 1)->swapcopy));
	for (u64 g = 0; g < 12; g++)
		CHECK(holds(b, g, 1200 + g));
	CHECK_EQ(vmmem_check(b), 0);
	vmmem_destroy(b);
	CHECK_EQ(guest_swap.used, 0);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
	CHECK_EQ(frames.st.free, stub_frames_free_at_start);
}

/* --- out of memory, and the self-check ---------------------------------------- */

TEST(out_of_pool_and_slots_stops_the_vm)
{
	setup(8, 4, false, 2, 32);
	struct vm *a = &vms[0], *b = &vms[1];

	for (u64 g = 0; g < 12; g++)
		CHECK(gfill(a, g, 1300 + g));
	CHECK_EQ(guest_pool.st.free, 0);
	CHECK_EQ(guest_swap.used, 4);
	u64 w = 1;
	CHECK(!gstore(a, 12, 0, &w, 8));
	CHECK_EQ(a->state, VM_STOPPED);
	CHECK(strstr(a->stop_reason, "out of memory: pool 8 frames and swap 4 "
		     "slots all in use") != NULL);
	CHECK_EQ(state(a, 12), P2M_UNPOPULATED);
	CHECK(guest_swap.st.no_slot > 0);
	for (u64 g = 0; g < 12; g++)
		CHECK(holds(a, g, 1300 + g));
	CHECK_EQ(checks(1), 0);
	/* The other VM: stopped at its first touch too (nothing can free
	 * a frame), nothing of a's lost. */
	CHECK(!gstore(b, 0, 0, &w, 8));
	CHECK(strstr(b->stop_reason, "out of memory: pool 8 frames") != NULL);
	/* a gone, b goes on. */
	vmmem_destroy(a);
	b->state = VM_RUNNING;
	CHECK(gfill(b, 0, 1400));
	CHECK(holds(b, 0, 1400));
	CHECK_EQ(vmmem_check(b), 0);
	vmmem_destroy(b);
	CHECK_EQ(guest_swap.used, 0);
	CHECK_EQ(guest_pool.st.free, guest_pool.nframes);
}

TEST(swap_check_finds_a_wrong_slot_owner)
{
	setup(4, 16, false, 1, 32);
	struct vm *a = &vms[0];
	u64 slot = swapped_page(a, 1500);

	CHECK_EQ(checks(1), 0);
	u64 saved = guest_swap.slot[slot];
	guest_swap.slot[slot] ^= 1;	/* owned by gfn 1 instead */
	stub_log_clear();
	CHECK(vmmem_check(a) >= 2);
	CHECK(stub_log_has("swap-check: slot"));
	CHECK(stub_log_has("which it does not own"));
	guest_swap.slot[slot] = saved;

	/* A used slot nobody owns. */
	u64 extra = swap_slot_alloc(&guest_swap, 0, 9);	/* gfn 9: unpopulated */
	stub_log_clear();
	CHECK(vmmem_check(a) >= 1);
	CHECK(stub_log_has("gfn 0x9, whose p2m says unpopulated"));
	swap_slot_free(&guest_swap, extra);

	/* The counter. */
	guest_swap.used++;
	stub_log_clear();
	CHECK(vmmem_check(a) >= 1);
	CHECK(stub_log_has("slots in use, the counter says"));
	guest_swap.used--;
	CHECK_EQ(checks(1), 0);
	teardown(1);
}
