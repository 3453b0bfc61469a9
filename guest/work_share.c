/*
 * work_share.c - the workloads for content-based page sharing: settle,
 * volatile and zero.
 *
 *   settle    yields (HC_YIELD) so that the hypervisor's sharing scanner
 *             runs between this VM's slices, until MEMSTAT's `shared`
 *             counter reaches settle_shared= pages, or (settle_shared=0)
 *             has been nonzero and unchanged for SETTLE_STABLE_READS reads
 *             in a row, or settle= yields have passed.  It only reports:
 *             sharing may be off, and the count is the hypervisor's claim,
 *             not something the guest can check.  Needs memvisor.
 *   volatile  a set of pages rewritten with a new generation every round,
 *             yielding between rounds, beside a set of the same size
 *             written once ("still", in identical pairs: pages 2k and
 *             2k+1 hold pattern(seed, TAG_STILL, 0, k)).  A scanner that
 *             merges only pages whose hash did not change between two scans
 *             should merge the still pairs and (almost) never the volatile
 *             pages; the guest verifies every byte of both.
 *   zero      pages written with a pattern and then zeroed: resident, all
 *             zero, and not "never written" (a scanner has to look at their
 *             bytes to find them equal to the zero frame).
 *
 * Every byte is a pattern of (seed, tag, generation, page) as everywhere
 * (region.h), and every region is registered for `verify`.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "hv.h"
#include "vm.h"

#define PAGE UINT64_C(4096)

/* settle_shared=0: MEMSTAT is read every SETTLE_READ_EVERY yields, and
 * settle stops once `shared` is nonzero and the same for
 * SETTLE_STABLE_READS reads in a row (SETTLE_READ_EVERY *
 * SETTLE_STABLE_READS = 128 yields without a change). */
#define SETTLE_READ_EVERY 16
#define SETTLE_STABLE_READS 8

static uint64_t memstat_buf[MEMSTAT_COUNT];

/* MEMSTAT into memstat_buf; the hypercall's answer (bytes or -errno). */
static int64_t read_memstat(void)
{
	return hc_memstat(kernel_phys(memstat_buf), sizeof(memstat_buf));
}

/* MEMSTAT shared, or -1 (and a line saying why) if the call failed. */
static int64_t read_shared(const char *who)
{
	int64_t rc = read_memstat();
	if (rc < (int64_t)((MEMSTAT_SHARED + 1) * sizeof(uint64_t))) {
		kprintf("%s: MEMSTAT returned %ld (%s)\n", who, (long)rc,
			hc_error_name(rc));
		return -1;
	}
	return (int64_t)memstat_buf[MEMSTAT_SHARED];
}

int work_settle(struct work_ctx *c)
{
	uint64_t bound = c->cfg->settle_bound;
	uint64_t target = c->cfg->settle_shared;
	uint64_t yields = 0, stable = 0, bad_yields = 0;
	int64_t last_bad = 0;
	const char *why = "bound";

	if (!hv_present())
		return work_skip("settle", "needs memvisor (no signature at "
					   "CPUID 0x40000000)");
	int64_t shared = read_shared("settle");
	if (target)
		kprintf("settle: yielding until MEMSTAT shared >= %lu, at most "
			"%lu yields; shared=%ld now\n",
			target, bound, (long)shared);
	else
		kprintf("settle: yielding until MEMSTAT shared is nonzero and "
			"unchanged for %d reads %d yields apart, at most %lu "
			"yields; shared=%ld now\n",
			SETTLE_STABLE_READS, SETTLE_READ_EVERY, bound,
			(long)shared);
	if (shared < 0) {
		why = "MEMSTAT failed";
		goto out;
	}
	if (target && (uint64_t)shared >= target) {
		why = "target";
		goto out;
	}
	while (yields < bound) {
		int64_t rc = hc_yield();
		yields++;
		if (rc != 0) {
			bad_yields++;
			last_bad = rc;
		}
		if (yields % SETTLE_READ_EVERY && yields != bound)
			continue;
		int64_t now = read_shared("settle");
		if (now < 0) {
			why = "MEMSTAT failed";
			break;
		}
		if (target) {
			shared = now;
			if ((uint64_t)now >= target) {
				why = "target";
				break;
			}
			continue;
		}
		if (now != 0 && now == shared) {
			if (++stable >= SETTLE_STABLE_READS) {
				why = "stable";
				break;
			}
		} else {
			stable = 0;
		}
		shared = now;
	}
	if (bad_yields)
		kprintf("settle: %lu YIELDs did not return 0 (last %ld, %s)\n",
			bad_yields, (long)last_bad, hc_error_name(last_bad));
out:
	kprintf("settle: MEMSTAT shared=%ld after %lu yields (target %lu, "
		"bound %lu), stopped: %s\n",
		(long)shared, yields, target, bound, why);
	return WORK_PASS;
}

static void print_populated(const char *name, uint64_t pages,
			    uint64_t faults)
{
	kprintf("%s: verified %lu bytes; pages=%lu faults=%lu\n", name,
		pages * PAGE, pages, faults);
}

/* " (MEMSTAT shared A -> B)" under memvisor, "" natively. */
static void print_shared_change(int64_t before, int64_t after)
{
	if (hv_present())
		kprintf(" (MEMSTAT shared %ld -> %ld)", (long)before,
			(long)after);
	kprintf("\n");
}

int work_volatile(struct work_ctx *c)
{
	uint64_t n = c->cfg->volatile_pages;
	uint64_t rounds = c->cfg->vrounds;
	uint64_t faults = work_faults();
	int hv = hv_present();
	int64_t before = hv ? read_shared("volatile") : 0;
	uint64_t cow_before = memstat_buf[MEMSTAT_COW_BREAKS];
	struct region *still = work_new_region("still", n, TAG_STILL);
	struct region *vol = work_new_region("volatile", n, TAG_VOLATILE);

	still->group = 2;
	kprintf("volatile: %lu pages at 0x%lx rewritten %lu times (a new "
		"generation each round%s); %lu still pages at 0x%lx written "
		"once, pages 2k and 2k+1 equal, content from (seed %lu, k)\n",
		n, (uint64_t)(uintptr_t)vol->base, rounds,
		hv ? ", YIELD between rounds" : "", n,
		(uint64_t)(uintptr_t)still->base, c->cfg->seed);
	/* The still set first: corrupt=1 then lands in it, where the final
	 * verification must find it (a volatile page would be rewritten). */
	work_fill(c, still, 0, n);
	for (uint64_t r = 0; r < rounds; r++) {
		vol->gen = r;
		work_fill(c, vol, 0, n);
		if (hv)
			hc_yield();
		/* After the yield: a scanner that merged or broke a page
		 * wrongly while we were out shows here. */
		if (work_verify(c, vol, 0, n) < 0)
			return WORK_FAIL;
	}
	if (work_verify(c, still, 0, n) < 0 || work_verify(c, vol, 0, n) < 0)
		return WORK_FAIL;
	int64_t after = hv ? read_shared("volatile") : 0;
	kprintf("volatile: %lu pages rewritten %lu times, %lu still pages; "
		"verified %lu bytes",
		n, rounds, n, 2 * n * PAGE);
	if (hv)	/* how often a rewrite found its page merged */
		kprintf("; memvisor counted %lu copy-on-write breaks",
			memstat_buf[MEMSTAT_COW_BREAKS] - cow_before);
	print_shared_change(before, after);
	print_populated("volatile", 2 * n, work_faults() - faults);
	return WORK_PASS;
}

int work_zero(struct work_ctx *c)
{
	uint64_t n = c->cfg->zero_pages;
	uint64_t faults = work_faults();
	int64_t before = hv_present() ? read_shared("zero") : 0;
	struct region *z = work_new_region("zero", n, TAG_ZERO);
	struct region dirty = *z;

	kprintf("zero: %lu pages at 0x%lx written with a pattern, then with "
		"zeros\n",
		n, (uint64_t)(uintptr_t)z->base);
	dirty.tag = TAG_ZERO_DIRTY;
	region_fill_pages(&dirty, c->cfg->seed, 0, n);
	if (work_verify(c, &dirty, 0, n) < 0)
		return WORK_FAIL;
	work_fill(c, z, 0, n);
	if (work_verify(c, z, 0, n) < 0)
		return WORK_FAIL;
	int64_t after = hv_present() ? read_shared("zero") : 0;
	kprintf("zero: %lu pages resident and all zero; verified %lu bytes", n,
		n * PAGE);
	print_shared_change(before, after);
	print_populated("zero", n, work_faults() - faults);
	return WORK_PASS;
}
