/*
 * work_mem.c - the memory workloads: touch, dup, cow, hotcold, idle,
 * spill, grow and verify.  Each writes pattern regions (region.h) through demand paging,
 * verifies every byte, and prints one result line with the pages touched
 * and the demand faults they cost; on a fresh region the two must match.
 *
 * What each one is for, from the hypervisor's side:
 *   touch    populates N MiB (SLAT violations, demand-zero)
 *   spill    pages written, then freed in the guest (what a balloon takes)
 *   grow     a VM whose memory keeps growing (it needs the frames)
 *   dup      pages equal across VMs with the same seed, and zero pages
 *            (content-based sharing)
 *   cow      writes into shared pages (copy-on-write breaks)
 *   hotcold  a small hot set and a large cold set (reclaim picks cold)
 *   idle     memory that sits still while the guest waits (ballooning)
 *   verify   everything again at the end (nothing lost to any mechanism)
 */
#include "work.h"

#include "abi.h"
#include "balloon.h"
#include "console.h"
#include "cpu.h"
#include "hv.h"
#include "timer.h"
#include "vm.h"

#define PAGE UINT64_C(4096)

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

/* The idle wait's mode, for the first line. */
static const char *idle_mode(void)
{
	if (timer_running())
		return "HLT, woken by the timer tick; the balloon driver runs "
		       "in the tick";
	if (hv_present())
		return "YIELD; no timer, so the balloon driver is polled each "
		       "step";
	return "PAUSE loop: no memvisor, and HLT with interrupts off would "
	       "never wake";
}

/*
 * Memory that sits still while the guest waits: the VM a hypervisor
 * balloons.  idle_ticks idle steps (ticks when the timer runs); with
 * idle_deflate=N it goes on until its balloon has been inflated and given
 * back to 0 again (the hypervisor lowered the target), N steps at most.
 * Every region written so far is verified once in the middle (after the
 * balloon peaked: its first step down) and at the end.
 */
int work_idle(struct work_ctx *c)
{
	uint64_t pages = c->cfg->idle_bytes / PAGE;
	uint64_t faults = work_faults();
	uint64_t want = c->cfg->idle_ticks, bound = c->cfg->idle_deflate;
	uint64_t peak = 0, peak_at = 0, back_at = 0, steps = 0;
	int mid_done = 0;
	struct region *r = work_new_region("idle", pages, TAG_IDLE);

	if (bound && !balloon_active())
		return work_fail(c, STATUS_BAD_CMDLINE,
				 "idle: idle_deflate=%lu needs the balloon "
				 "driver (memvisor, and not balloon=off)",
				 bound);
	if (bound < want)
		bound = want;
	kprintf("idle: writing %lu pages, then %lu idle ticks%s (%s)\n",
		pages, want,
		c->cfg->idle_deflate ? ", and on until the balloon is back to 0"
				     : "",
		idle_mode());
	work_fill(c, r, 0, pages);
	if (work_verify(c, r, 0, pages) < 0)
		return WORK_FAIL;
	while (steps < bound) {
		work_idle_step();
		steps++;
		uint64_t h = balloon_held();
		if (h > peak) {
			peak = h;
			peak_at = steps;
			back_at = 0;
		}
		if (peak && !h && !back_at)
			back_at = steps;
		if (!mid_done && ((peak && h < peak) ||
				  (!c->cfg->idle_deflate &&
				   steps == (want + 1) / 2))) {
			if (work_verify_regions(c) < 0)
				return WORK_FAIL;
			kprintf("idle: all %d regions verified after %lu "
				"ticks (balloon %lu pages, peak %lu)\n",
				work_region_count(), steps, h, peak);
			mid_done = 1;
		}
		if (steps >= want && (!c->cfg->idle_deflate || back_at))
			break;
		if (c->cfg->idle_deflate && balloon_failure())
			return work_fail(c, STATUS_VERIFY_FAILED,
					 "idle: waiting for the balloon: %s",
					 balloon_failure());
	}
	if (c->cfg->idle_deflate && !peak)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "idle: balloon never inflated in "
				 "idle_deflate=%lu ticks",
				 c->cfg->idle_deflate);
	if (c->cfg->idle_deflate && !back_at)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "idle: balloon peaked at %lu pages after %lu "
				 "ticks but still held %lu after idle_deflate="
				 "%lu ticks",
				 peak, peak_at, balloon_held(),
				 c->cfg->idle_deflate);
	if (work_verify_regions(c) < 0)
		return WORK_FAIL;
	if (!peak)
		kprintf("idle: balloon stayed empty for %lu ticks; every byte "
			"verified\n", steps);
	else if (back_at)
		kprintf("idle: balloon peaked at %lu pages after %lu ticks, "
			"back to 0 after %lu ticks; every byte verified\n",
			peak, peak_at, back_at);
	else
		kprintf("idle: balloon peaked at %lu pages after %lu ticks, "
			"holds %lu after %lu ticks; every byte verified\n",
			peak, peak_at, balloon_held(), steps);
	print_populated("idle", pages, work_faults() - faults);
	return WORK_PASS;
}

/*
 * spill: a process that exits, a cache dropped.  Writes spill bytes,
 * verifies them, then unmaps all but the first spill_keep bytes and gives
 * their frames back to the allocator.  Those frames are populated in the
 * hypervisor but free in the guest: what a balloon reclaims.  The kept
 * part stays a region for `verify`.
 */
int work_spill(struct work_ctx *c)
{
	uint64_t pages = c->cfg->spill_bytes / PAGE;
	uint64_t keep = c->cfg->spill_keep / PAGE;
	uint64_t faults = work_faults();
	struct region *r = work_new_region("spill", pages, TAG_SPILL);

	kprintf("spill: writing %lu pages at 0x%lx, keeping %lu of them\n",
		pages, (uint64_t)(uintptr_t)r->base, keep);
	work_fill(c, r, 0, pages);
	if (work_verify(c, r, 0, pages) < 0)
		return WORK_FAIL;
	print_populated("spill", pages, work_faults() - faults);
	uint64_t free_before = vm_free_frames();
	for (uint64_t p = keep; p < pages; p++) {
		uint64_t va = (uint64_t)(uintptr_t)r->base + p * PAGE;
		uint64_t old = vm_unmap_page(va);
		if (!(old & PTE_P))
			return work_fail(c, STATUS_VERIFY_FAILED,
					 "spill: page %lu at 0x%lx was not "
					 "mapped", p, va);
		vm_free_frame(old & PTE_ADDR_MASK);
	}
	r->pages = keep;
	kprintf("spill: gave %lu frames back to the allocator (free frames "
		"%lu -> %lu), %lu pages kept for verify\n",
		pages - keep, free_before, vm_free_frames(), keep);
	balloon_poll();
	return WORK_PASS;
}

/* MEMSTAT's resident, swapped and ballooned pages as text, or the free
 * frames natively. */
static void print_grow_line(uint64_t done, uint64_t pages, uint64_t step,
			    uint64_t nsteps)
{
	kprintf("grow: %lu of %lu KiB written, all verified (step %lu of "
		"%lu); ", done * 4, pages * 4, step, nsteps);
	if (hv_present() &&
	    hc_memstat(kernel_phys(cow_memstat), sizeof(cow_memstat)) >= 0)
		kprintf("MEMSTAT resident=%lu swapped=%lu ballooned=%lu",
			cow_memstat[MEMSTAT_RESIDENT],
			cow_memstat[MEMSTAT_SWAPPED],
			cow_memstat[MEMSTAT_BALLOONED]);
	else
		kprintf("free frames %lu", vm_free_frames());
	kprintf("; balloon holds %lu\n", balloon_held());
}

#define GROW_LINES 8	/* about this many progress lines */

/*
 * grow: the VM that needs memory.  Allocates and writes grow bytes in
 * grow_step steps; after every step verifies everything written so far
 * and waits once (an idle step: the other VMs run, the balloon driver
 * follows its target).
 */
int work_grow(struct work_ctx *c)
{
	uint64_t pages = c->cfg->grow_bytes / PAGE;
	uint64_t step = c->cfg->grow_step / PAGE;
	uint64_t nsteps = (pages + step - 1) / step;
	uint64_t every = nsteps > GROW_LINES ? nsteps / GROW_LINES : 1;
	uint64_t faults = work_faults();
	struct region *r = work_new_region("grow", pages, TAG_GROW);

	kprintf("grow: %lu pages at 0x%lx in %lu steps of %lu pages\n", pages,
		(uint64_t)(uintptr_t)r->base, nsteps, step);
	for (uint64_t s = 0; s < nsteps; s++) {
		uint64_t first = s * step;
		uint64_t n = pages - first < step ? pages - first : step;
		work_fill(c, r, first, n);
		if (work_verify(c, r, 0, first + n) < 0)
			return WORK_FAIL;
		if ((s + 1) % every == 0 || s + 1 == nsteps)
			print_grow_line(first + n, pages, s + 1, nsteps);
		work_idle_step();
	}
	print_populated("grow", pages, work_faults() - faults);
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
