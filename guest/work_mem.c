/*
 * work_mem.c - the memory workloads: touch, dup, cow, hotcold, idle and
 * verify.  Each writes pattern regions (region.h) through demand paging,
 * verifies every byte, and prints one result line with the pages touched
 * and the demand faults they cost; on a fresh region the two must match.
 *
 * What each one is for, from the hypervisor's side:
 *   touch    populates N MiB (SLAT violations, demand-zero)
 *   dup      pages equal across VMs with the same seed, and zero pages
 *            (content-based sharing)
 *   cow      writes into shared pages (copy-on-write breaks)
 *   hotcold  a small hot set and a large cold set (reclaim picks cold)
 *   idle     memory that sits still while the guest yields (ballooning)
 *   verify   everything again at the end (nothing lost to any mechanism)
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"
#include "timer.h"
#include "vm.h"

#define PAGE UINT64_C(4096)

/* Native idle: HLT with interrupts off never wakes on bare metal or under
 * QEMU, so each "halt" is this many PAUSEs instead. */
#define NATIVE_PAUSES_PER_HALT 2000

/* Written by dup, changed by cow. */
static struct region *dup_pages, *dup_zero_pages;

static void print_populated(const char *name, uint64_t pages,
			    uint64_t faults)
{
	kprintf("%s: verified %lu bytes; pages=%lu faults=%lu\n", name,
		pages * PAGE, pages, faults);
}

int work_touch(struct work_ctx *c)
{
	uint64_t pages = c->cfg->touch_bytes / PAGE;
	uint64_t faults = work_faults();
	struct region *r = work_new_region("touch", pages, TAG_TOUCH);

	kprintf("touch: writing %lu KiB (%lu pages) at 0x%lx, pattern from "
		"(seed %lu, page)\n",
		pages * 4, pages, (uint64_t)(uintptr_t)r->base, c->cfg->seed);
	work_fill(c, r, 0, pages);
	if (work_verify(c, r, 0, pages) < 0)
		return WORK_FAIL;
	print_populated("touch", pages, work_faults() - faults);
	return WORK_PASS;
}

int work_dup(struct work_ctx *c)
{
	uint64_t n = c->cfg->dup_pages;
	uint64_t faults = work_faults();
	struct region *d = dup_pages = work_new_region("dup", n, TAG_DUP);
	struct region *z = dup_zero_pages =
		work_new_region("dup-zero", n, TAG_ZERO);

	kprintf("dup: %lu pages at 0x%lx whose content depends only on seed "
		"%lu, and %lu zero pages at 0x%lx\n",
		n, (uint64_t)(uintptr_t)d->base, c->cfg->seed, n,
		(uint64_t)(uintptr_t)z->base);
	work_fill(c, d, 0, n);
	work_fill(c, z, 0, n);
	if (work_verify(c, d, 0, n) < 0 || work_verify(c, z, 0, n) < 0)
		return WORK_FAIL;
	kprintf("dup: digest=0x%016lx (same seed and count give the same "
		"digest on every VM)\n",
		region_digest(d));
	print_populated("dup", 2 * n, work_faults() - faults);
	return WORK_PASS;
}

/* Overwrites one word in each of the first n pages: the smallest write
 * that still has to break a shared page, and the rest of the page must
 * survive the copy. */
static void patch_pages(struct region *r, uint64_t seed, uint64_t n)
{
	for (uint64_t p = 0; p < n; p++) {
		volatile uint64_t *w =
			(volatile uint64_t *)(r->base + p * PAGE);
		w[region_patch_index(seed, p)] = region_patch_value(seed, p);
	}
	r->patched_pages = n;
}

/* MEMSTAT's count of copy-on-write breaks by our own writes, or -1
 * without memvisor.  Nothing between two calls writes a page but what the
 * caller writes (the buffer is the hypervisor's to fill). */
static uint64_t cow_memstat[MEMSTAT_COUNT];

static int64_t cow_breaks_now(void)
{
	if (!hv_present() ||
	    hc_memstat(kernel_phys(cow_memstat), sizeof(cow_memstat)) < 0)
		return -1;
	return (int64_t)cow_memstat[MEMSTAT_COW_BREAKS];
}

int work_cow(struct work_ctx *c)
{
	uint64_t n = c->cfg->cow_pages;
	struct region *d = dup_pages, *z = dup_zero_pages;

	if (!d || !z)
		return work_fail(c, STATUS_BAD_CMDLINE,
				 "cow: no dup regions to overwrite");
	kprintf("cow: writing one word into each of the first %lu of %lu dup "
		"pages and of %lu zero pages\n",
		n, d->pages, z->pages);
	/* The same calls with nothing to patch first: the stack and the
	 * region records they write are our own pages again (the scanner may
	 * have merged them with the other VM's), so that between the two
	 * counts only the dup pages are written. */
	patch_pages(d, c->cfg->seed, 0);
	patch_pages(z, c->cfg->seed, 0);
	/* And a fresh slice, so that the writes are done before the next
	 * round of memvisor's scanner (it runs between slices) can merge
	 * any of these pages again. */
	if (hv_present())
		hc_yield();
	int64_t before = cow_breaks_now();
	patch_pages(d, c->cfg->seed, n);
	patch_pages(z, c->cfg->seed, n);
	int64_t after = cow_breaks_now();
	if (before >= 0 && after >= 0)
		kprintf("cow: memvisor counted %ld copy-on-write breaks for the "
			"%lu pages written\n", (long)(after - before), 2 * n);
	if (work_verify(c, d, 0, d->pages) < 0 ||
	    work_verify(c, z, 0, z->pages) < 0)
		return WORK_FAIL;
	kprintf("cow: verified %lu changed and %lu untouched pages in each of "
		"dup and dup-zero (%lu bytes)\n",
		n, d->pages - n, (d->pages + z->pages) * PAGE);
	return WORK_PASS;
}

/* hostile=cow-storm: rounds of rewriting every dup page with the bytes it
 * already holds, yielding between rounds.  Each time memvisor's scanner
 * has merged a page with its twin in another VM, the store breaks the
 * share again: the storm costs this VM copy-on-write faults, and must
 * change nothing for anyone (this VM's bytes and the other VM's stay as
 * written). */
#define COW_STORM_ROUNDS 64

int work_cow_storm(struct work_ctx *c)
{
	struct region *d = dup_pages;

	if (!d)
		return work_fail(c, STATUS_BAD_CMDLINE,
				 "cow-storm: needs work=dup before it");
	if (!hv_present())
		return work_skip("cow-storm", "needs memvisor (its scanner)");
	int64_t before = cow_breaks_now();
	for (int r = 0; r < COW_STORM_ROUNDS; r++) {
		for (uint64_t p = 0; p < d->pages; p++) {
			volatile uint64_t *w =
				(volatile uint64_t *)(d->base + p * PAGE);
			w[0] = w[0];	/* the same bytes: a store all the same */
		}
		hc_yield();
	}
	int64_t after = cow_breaks_now();
	if (work_verify(c, d, 0, d->pages) < 0)
		return WORK_FAIL;
	kprintf("hostile: cow-storm: %d rounds of storing into %lu dup pages "
		"what they hold; memvisor counted %ld copy-on-write breaks; "
		"every byte as written\n", COW_STORM_ROUNDS, d->pages,
		(long)(after - before));
	return WORK_PASS;
}

/* MEMSTAT's count of this VM's pages brought back from swap, or -1
 * without memvisor. */
static int64_t swap_ins_now(void)
{
	if (!hv_present() ||
	    hc_memstat(kernel_phys(cow_memstat), sizeof(cow_memstat)) < 0)
		return -1;
	return (int64_t)cow_memstat[MEMSTAT_SWAP_INS];
}

int work_hotcold(struct work_ctx *c)
{
	uint64_t hot_pages = c->cfg->hot_bytes / PAGE;
	uint64_t cold_pages = c->cfg->cold_bytes / PAGE;
	uint64_t rounds = c->cfg->rounds;
	uint64_t chunk = (cold_pages + rounds - 1) / rounds;
	uint64_t faults = work_faults();
	struct region *hot = work_new_region("hot", hot_pages, TAG_HOT);
	struct region *cold = work_new_region("cold", cold_pages, TAG_COLD);
	uint64_t hot_refaults = 0;

	kprintf("hotcold: hot %lu pages rewritten %lu times, cold %lu pages "
		"written once in %lu-page steps\n",
		hot_pages, rounds, cold_pages, chunk);
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t first = r * chunk;
		if (first < cold_pages)
			work_fill(c, cold, first,
				  first + chunk > cold_pages ? cold_pages - first
							     : chunk);
		/* A new generation each round: the hot pages really change,
		 * so a stale copy of last round's page is caught. */
		hot->gen = r;
		int64_t before = swap_ins_now();
		work_fill(c, hot, 0, hot_pages);
		if (work_verify(c, hot, 0, hot_pages) < 0)
			return WORK_FAIL;
		int64_t after = swap_ins_now();
		if (before >= 0 && after >= 0)
			hot_refaults += (uint64_t)(after - before);
	}
	if (hv_present())
		kprintf("hotcold: memvisor brought pages back from swap %lu "
			"times while the hot set was rewritten (%lu rounds of "
			"%lu pages)\n", hot_refaults, rounds, hot_pages);
	if (work_verify(c, cold, 0, cold_pages) < 0)
		return WORK_FAIL;
	print_populated("hotcold", hot_pages + cold_pages,
			work_faults() - faults);
	return WORK_PASS;
}

static void idle_once(void)
{
	if (timer_running()) {
		/* A real wait: until the next tick. */
		cpu_wait_interrupt();
		return;
	}
	if (hv_present()) {
		/* Give the CPU to the other VMs; we resume after the call.
		 * Not HLT: without the timer no interrupt will ever come to
		 * end it (memvisor stops a vCPU that halts with nothing to
		 * wake it). */
		hc_yield();
		return;
	}
	for (int i = 0; i < NATIVE_PAUSES_PER_HALT; i++)
		cpu_pause();
}

int work_idle(struct work_ctx *c)
{
	uint64_t pages = c->cfg->idle_bytes / PAGE;
	uint64_t faults = work_faults();
	uint64_t max_held = 0;
	struct region *r = work_new_region("idle", pages, TAG_IDLE);

	kprintf("idle: writing %lu pages, then %lu idle steps (%s)\n", pages,
		c->cfg->halts,
		timer_running() ? "STI;HLT until the next timer tick, "
				  "following the balloon target"
		: hv_present() ? "YIELD, following the balloon target"
			       : "PAUSE loop: no memvisor, and HLT with "
				 "interrupts off would never wake");
	work_fill(c, r, 0, pages);
	if (work_verify(c, r, 0, pages) < 0)
		return WORK_FAIL;
	for (uint64_t i = 0; i < c->cfg->halts; i++) {
		if (hv_present() && balloon_follow_target(c) != WORK_PASS)
			return WORK_FAIL;
		if (balloon_held() > max_held)
			max_held = balloon_held();
		idle_once();
	}
	if (hv_present()) {
		kprintf("idle: balloon held at most %lu pages\n", max_held);
		if (balloon_release_all(c) != WORK_PASS)
			return WORK_FAIL;
	}
	if (work_verify(c, r, 0, pages) < 0)
		return WORK_FAIL;
	print_populated("idle", pages, work_faults() - faults);
	return WORK_PASS;
}

int work_verify_all(struct work_ctx *c)
{
	uint64_t bytes = 0;

	for (int i = 0; i < work_region_count(); i++) {
		struct region *r = work_region(i);
		if (work_verify(c, r, 0, r->pages) < 0)
			return WORK_FAIL;
		kprintf("verify: %-8s %6lu pages at 0x%lx ok\n", r->name,
			r->pages, (uint64_t)(uintptr_t)r->base);
		bytes += r->pages * PAGE;
	}
	kprintf("verify: all %d regions intact, %lu bytes checked\n",
		work_region_count(), bytes);
	return WORK_PASS;
}
