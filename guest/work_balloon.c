/*
 * work_balloon.c - the `balloon` workload and hostile=balloon-touch: the
 * balloon hypercalls checked page by page, beside the driver (balloon.c),
 * which is paused while they run and lends them the free tail of its gfn
 * array (balloon_borrow), so both share one list and never each other's
 * pages.
 *
 * `balloon` fills frames with a pattern before inflating them, so "reads
 * as zero after deflate" proves the hypervisor really took the page away
 * and gave back a fresh one, and did not just hand the old contents back.
 * (The driver never writes its pages: this workload does, on purpose.)
 *
 * balloon-touch inflates filled pages and then touches them anyway,
 * breaking the guest's promise: every byte must read as zero, the pages
 * must be the guest's again (writes stick, DEFLATE refuses them as not
 * ballooned) and MEMSTAT's balloon_touched must count each page once.
 */
#include "work.h"

#include "abi.h"
#include "balloon.h"
#include "console.h"
#include "hv.h"
#include "vm.h"

#define PAGE UINT64_C(4096)

static uint64_t memstat_buf[MEMSTAT_COUNT];

static struct region frame_view(uint64_t gfn, uint32_t tag, uint64_t gen)
{
	return (struct region){ .name = "balloon",
				.base = phys_to_virt(gfn * PAGE),
				.pages = 1,
				.tag = tag,
				.gen = gen };
}

static int64_t memstat(int index)
{
	int64_t rc = hc_memstat(kernel_phys(memstat_buf), sizeof(memstat_buf));
	return rc < 0 ? rc : (int64_t)memstat_buf[index];
}

/* Hypercall over list[0, n) in calls of at most HC_GFN_MAX gfns; the sum
 * of the answers, or the first one that is not the chunk's length. */
static int64_t balloon_call(int inflate, const uint64_t *list, uint64_t n)
{
	int64_t done = 0;

	for (uint64_t i = 0; i < n; i += HC_GFN_MAX) {
		uint64_t k = n - i < HC_GFN_MAX ? n - i : HC_GFN_MAX;
		int64_t rc = inflate
			? hc_balloon_inflate(kernel_phys(&list[i]), k)
			: hc_balloon_deflate(kernel_phys(&list[i]), k);
		if (rc != (int64_t)k)
			return rc;
		done += rc;
	}
	return done;
}

/* n fresh frames into list[], each filled with the pattern. */
static int take_filled(struct work_ctx *c, uint64_t *list, uint64_t n,
		       const char *who)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = vm_alloc_frame();
		if (!pa) {
			while (i--)
				vm_free_frame(list[i] * PAGE);
			return work_fail(c, STATUS_NO_MEMORY,
					 "%s: out of frames after %lu", who, i);
		}
		list[i] = pa / PAGE;
		struct region r = frame_view(list[i], TAG_BALLOON, 0);
		region_fill_pages(&r, c->cfg->seed, 0, 1);
	}
	return WORK_PASS;
}

static void free_all(const uint64_t *list, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		vm_free_frame(list[i] * PAGE);
}

static int check_room(struct work_ctx *c, uint64_t room, uint64_t n,
		      const char *who)
{
	if (n <= room)
		return WORK_PASS;
	return work_fail(c, STATUS_NO_MEMORY,
			 "%s: %lu pages asked, the driver's list has room for "
			 "%lu (balloon_pages= smaller, or balloon=off)",
			 who, n, room);
}

static int run_balloon(struct work_ctx *c, uint64_t *list, uint64_t n)
{
	int64_t before = memstat(MEMSTAT_BALLOONED);

	kprintf("balloon: inflating %lu pages (filled with a pattern first), "
		"MEMSTAT ballooned=%ld, driver holds %lu (paused)\n",
		n, (long)before, balloon_held());
	if (take_filled(c, list, n, "balloon") != WORK_PASS)
		return WORK_FAIL;
	int64_t rc = balloon_call(1, list, n);
	if (rc != (int64_t)n) {
		free_all(list, n);
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: INFLATE(%lu pages) returned %ld (%s)",
				 n, (long)rc, hc_error_name(rc));
	}
	int64_t during = memstat(MEMSTAT_BALLOONED);
	kprintf("balloon: MEMSTAT ballooned=%ld after inflate, TARGET=%ld\n",
		(long)during, (long)hc_balloon_target());
	if (before >= 0 && during != before + (int64_t)n)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: MEMSTAT ballooned went %ld -> %ld "
				 "after inflating %lu",
				 (long)before, (long)during, n);
	rc = balloon_call(0, list, n);
	if (rc != (int64_t)n)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: DEFLATE(%lu pages) returned %ld (%s)",
				 n, (long)rc, hc_error_name(rc));
	for (uint64_t i = 0; i < n; i++) {
		struct region r = frame_view(list[i], TAG_ZERO, 0);
		if (work_verify(c, &r, 0, 1) < 0)
			return WORK_FAIL;
	}
	free_all(list, n);
	int64_t after = memstat(MEMSTAT_BALLOONED);
	if (before >= 0 && after != before)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: MEMSTAT ballooned %ld after deflate, "
				 "expected %ld",
				 (long)after, (long)before);
	kprintf("balloon: deflated %lu pages, every byte read back as zero; "
		"MEMSTAT ballooned=%ld\n",
		n, (long)after);
	return WORK_PASS;
}

int work_balloon(struct work_ctx *c)
{
	uint64_t n = c->cfg->balloon_pages, room;

	if (!hv_present())
		return work_skip("balloon", "needs memvisor (no signature at "
					    "CPUID 0x40000000)");
	uint64_t *list = balloon_borrow(&room);
	int rc = check_room(c, room, n, "balloon");
	if (rc == WORK_PASS)
		rc = run_balloon(c, list, n);
	balloon_unborrow();
	return rc;
}

/* hostile=balloon-touch; the caller prints the closing line. */
static int run_touch(struct work_ctx *c, uint64_t *list, uint64_t n)
{
	int64_t touched0 = memstat(MEMSTAT_BALLOON_TOUCHED);
	int64_t ballooned0 = memstat(MEMSTAT_BALLOONED);
	uint64_t wrong = 0;

	if (take_filled(c, list, n, "balloon-touch") != WORK_PASS)
		return WORK_FAIL;
	kprintf("hostile: balloon-touch: %lu pages filled with a pattern; "
		"MEMSTAT balloon_touched=%ld ballooned=%ld\n",
		n, (long)touched0, (long)ballooned0);
	if (hostile_expect_rc(c, "INFLATE(the filled pages)",
			      balloon_call(1, list, n), (int64_t)n) ||
	    hostile_expect_rc(c, "MEMSTAT ballooned after INFLATE",
			      memstat(MEMSTAT_BALLOONED),
			      ballooned0 + (int64_t)n)) {
		free_all(list, n);
		return WORK_FAIL;
	}
	/* Breaking the promise: read every byte of every ballooned page. */
	for (uint64_t i = 0; i < n; i++) {
		struct region r = frame_view(list[i], TAG_ZERO, 0);
		if (work_verify(c, &r, 0, 1) < 0)
			wrong++;
	}
	kprintf("hostile: read every byte of the %lu ballooned pages: %lu "
		"read as zero\n", n, n - wrong);
	/* Now they are the guest's again: a new pattern, read back. */
	for (uint64_t i = 0; i < n; i++) {
		struct region r = frame_view(list[i], TAG_BALLOON, 1);
		region_fill_pages(&r, c->cfg->seed, 0, 1);
	}
	for (uint64_t i = 0; i < n; i++) {
		struct region r = frame_view(list[i], TAG_BALLOON, 1);
		if (work_verify(c, &r, 0, 1) < 0)
			wrong++;
	}
	if (wrong)
		return work_fail(c, STATUS_HOSTILE,
				 "balloon-touch: %lu of %lu pages wrong (zeros "
				 "after the touch, then the pattern written)",
				 wrong, n);
	kprintf("hostile: wrote and read back a new pattern in all %lu\n", n);
	if (hostile_expect_rc(c, "MEMSTAT balloon_touched rose by",
			      memstat(MEMSTAT_BALLOON_TOUCHED) - touched0,
			      (int64_t)n) ||
	    hostile_expect_rc(c, "MEMSTAT ballooned back to",
			      memstat(MEMSTAT_BALLOONED), ballooned0) ||
	    hostile_expect_rc(c, "DEFLATE(a touched page: not ballooned)",
			      hc_balloon_deflate(kernel_phys(list), 1),
			      -HC_EINVAL))
		return WORK_FAIL;
	free_all(list, n);
	return WORK_PASS;
}

int work_balloon_touch(struct work_ctx *c)
{
	uint64_t n = c->cfg->balloon_pages, room;
	uint64_t *list = balloon_borrow(&room);
	int rc = check_room(c, room, n, "balloon-touch");

	if (rc == WORK_PASS)
		rc = run_touch(c, list, n);
	balloon_unborrow();
	return rc;
}
