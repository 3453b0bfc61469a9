/*
 * work_balloon.c - the guest's balloon driver and the `balloon` workload.
 *
 * Inflating hands free guest frames to memvisor (HC_BALLOON_INFLATE with an
 * array of gfns); the guest promises not to touch them until it deflates
 * them (HC_BALLOON_DEFLATE), after which they read as zero.  The frames are
 * filled with a pattern before inflating, so "reads as zero after deflate"
 * proves the hypervisor really took the page away and gave back a fresh
 * one, and did not just hand the old contents back.
 *
 * The gfn array lives in .bss: the kernel image is identity-mapped, so its
 * virtual address is its guest-physical address, which is what the
 * hypercall takes.
 */
#include "work.h"

#include "abi.h"
#include "console.h"
#include "hv.h"
#include "vm.h"

#define PAGE UINT64_C(4096)
/* Per idle step: keeps each hypercall's work bounded. */
#define BALLOON_STEP_MAX 256
/* Frames the balloon never takes, for page tables and demand faults. */
#define BALLOON_KEEP_FREE 512

static uint64_t gfns[CMDLINE_BALLOON_MAX];
static uint64_t held;
static uint64_t memstat_buf[MEMSTAT_COUNT];

uint64_t balloon_held(void)
{
	return held;
}

static struct region frame_view(uint64_t gfn, uint32_t tag)
{
	return (struct region){ .name = "balloon",
				.base = phys_to_virt(gfn * PAGE),
				.pages = 1,
				.tag = tag };
}

/* Takes n free frames, fills them, and asks memvisor to take them. */
static int inflate(struct work_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pa = vm_alloc_frame();
		if (!pa)
			return work_fail(c, STATUS_NO_MEMORY,
					 "balloon: out of frames after %lu", i);
		gfns[held + i] = pa / PAGE;
		struct region r = frame_view(gfns[held + i], TAG_BALLOON);
		region_fill_pages(&r, c->cfg->seed, 0, 1);
	}
	int64_t rc = hc_balloon_inflate(kernel_phys(&gfns[held]), n);
	if (rc != (int64_t)n) {
		for (uint64_t i = 0; i < n; i++)
			vm_free_frame(gfns[held + i] * PAGE);
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: INFLATE(%lu pages) returned %ld (%s)",
				 n, (long)rc, hc_error_name(rc));
	}
	held += n;
	return WORK_PASS;
}

/* Takes the last n ballooned pages back; each must read as zero. */
static int deflate(struct work_ctx *c, uint64_t n)
{
	uint64_t first = held - n;
	int64_t rc = hc_balloon_deflate(kernel_phys(&gfns[first]), n);

	if (rc != (int64_t)n)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: DEFLATE(%lu pages) returned %ld (%s)",
				 n, (long)rc, hc_error_name(rc));
	held = first;
	for (uint64_t i = first; i < first + n; i++) {
		struct region r = frame_view(gfns[i], TAG_ZERO);
		if (work_verify(c, &r, 0, 1) < 0)
			return WORK_FAIL;
		vm_free_frame(gfns[i] * PAGE);
	}
	return WORK_PASS;
}

static int64_t read_ballooned(void)
{
	int64_t rc = hc_memstat(kernel_phys(memstat_buf), sizeof(memstat_buf));
	return rc < 0 ? rc : (int64_t)memstat_buf[MEMSTAT_BALLOONED];
}

int balloon_follow_target(struct work_ctx *c)
{
	int64_t target = hc_balloon_target();
	uint64_t room = vm_free_frames() > BALLOON_KEEP_FREE
				? vm_free_frames() - BALLOON_KEEP_FREE
				: 0;

	if (target < 0)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: TARGET returned %ld (%s)",
				 (long)target, hc_error_name(target));
	uint64_t want = (uint64_t)target;
	if (want > CMDLINE_BALLOON_MAX)
		want = CMDLINE_BALLOON_MAX;
	if (want > held + room)
		want = held + room;
	if (want > held) {
		uint64_t n = want - held;
		return inflate(c, n > BALLOON_STEP_MAX ? BALLOON_STEP_MAX : n);
	}
	if (want < held) {
		uint64_t n = held - want;
		return deflate(c, n > BALLOON_STEP_MAX ? BALLOON_STEP_MAX : n);
	}
	return WORK_PASS;
}

int balloon_release_all(struct work_ctx *c)
{
	while (held) {
		uint64_t n = held > BALLOON_STEP_MAX ? BALLOON_STEP_MAX : held;
		if (deflate(c, n) != WORK_PASS)
			return WORK_FAIL;
	}
	return WORK_PASS;
}

int work_balloon(struct work_ctx *c)
{
	uint64_t n = c->cfg->balloon_pages;

	if (!hv_present())
		return work_skip("balloon", "needs memvisor (no signature at "
					    "CPUID 0x40000000)");
	if (held)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: %lu pages already held", held);
	int64_t before = read_ballooned();
	kprintf("balloon: inflating %lu pages (filled with a pattern first), "
		"MEMSTAT ballooned=%ld\n",
		n, (long)before);
	if (inflate(c, n) != WORK_PASS)
		return WORK_FAIL;
	int64_t during = read_ballooned();
	kprintf("balloon: MEMSTAT ballooned=%ld after inflate, TARGET=%ld\n",
		(long)during, (long)hc_balloon_target());
	if (before >= 0 && during != before + (int64_t)n)
		return work_fail(c, STATUS_VERIFY_FAILED,
				 "balloon: MEMSTAT ballooned went %ld -> %ld "
				 "after inflating %lu",
				 (long)before, (long)during, n);
	if (deflate(c, n) != WORK_PASS)
		return WORK_FAIL;
	int64_t after = read_ballooned();
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
