/*
 * test_guest_pattern.c - the guest's pattern generator and region
 * fill/verify (guest/pattern.c, guest/region.c), on host memory.
 */
#include <stdlib.h>

#include "region.h"
#include "unit.h"

static struct region make_region(uint64_t pages, uint32_t tag)
{
	struct region r = { .name = "t", .pages = pages, .tag = tag };
	r.base = aligned_alloc(4096, pages * 4096);
	return r;
}

struct bad_log {
	int calls;
	uint64_t addr;
	uint8_t expected, actual;
};

static void record(void *ctx, uint64_t addr, uint8_t expected, uint8_t actual)
{
	struct bad_log *log = ctx;
	if (log->calls++ == 0) {
		log->addr = addr;
		log->expected = expected;
		log->actual = actual;
	}
}

TEST(pattern_is_deterministic)
{
	uint64_t k = pattern_page_key(7, TAG_TOUCH, 0, 3);
	CHECK_EQ(k, pattern_page_key(7, TAG_TOUCH, 0, 3));
	CHECK_EQ(pattern_word(k, 5), pattern_word(k, 5));
}

TEST(pattern_depends_on_every_input)
{
	uint64_t k = pattern_page_key(7, TAG_TOUCH, 0, 3);
	CHECK(k != pattern_page_key(8, TAG_TOUCH, 0, 3));
	CHECK(k != pattern_page_key(7, TAG_DUP, 0, 3));
	CHECK(k != pattern_page_key(7, TAG_TOUCH, 1, 3));
	CHECK(k != pattern_page_key(7, TAG_TOUCH, 0, 4));
	CHECK(pattern_word(k, 0) != pattern_word(k, 1));
}

TEST(pattern_known_value_is_stable)
{
	/* Pinned so a change to the generator (which would break sharing
	 * between guests built at different times) is a visible decision.
	 * splitmix64's finalizer maps 0 to 0 and 1 to this value. */
	CHECK_EQ(pattern_mix(0), 0);
	CHECK_EQ(pattern_mix(1), 0x5692161d100b05e5ull);
}

TEST(pattern_words_look_random)
{
	/* Over one page, each bit position should be set about half the
	 * time: a weak generator would leave stuck bits that a
	 * stale-translation bug could hide behind. */
	uint64_t k = pattern_page_key(1, TAG_TOUCH, 0, 0);
	for (int bit = 0; bit < 64; bit++) {
		int ones = 0;
		for (unsigned w = 0; w < 512; w++)
			ones += (pattern_word(k, w) >> bit) & 1;
		CHECK(ones > 180 && ones < 332);
	}
}

TEST(region_fill_then_verify_is_clean)
{
	struct region r = make_region(4, TAG_TOUCH);
	region_fill_pages(&r, 42, 0, 4);
	CHECK_EQ(region_verify_pages(&r, 42, 0, 4, 0, 0), 0);
	free(r.base);
}

TEST(region_verify_reports_the_flipped_byte)
{
	struct region r = make_region(3, TAG_DUP);
	struct bad_log log = { 0 };

	region_fill_pages(&r, 9, 0, 3);
	uint8_t *victim = r.base + 4096 + 1234;
	uint8_t before = *victim;
	*victim ^= 0xFF;
	CHECK_EQ(region_verify_pages(&r, 9, 0, 3, record, &log), 1);
	CHECK_EQ(log.calls, 1);
	CHECK_EQ(log.addr, (uint64_t)(uintptr_t)victim);
	CHECK_EQ(log.expected, before);
	CHECK_EQ(log.actual, (uint8_t)~before);
	free(r.base);
}

TEST(region_verify_catches_wrong_seed)
{
	struct region r = make_region(1, TAG_TOUCH);
	region_fill_pages(&r, 1, 0, 1);
	/* Nearly every byte differs: a wrong page is never a near miss. */
	CHECK(region_verify_pages(&r, 2, 0, 1, 0, 0) > 4000);
	free(r.base);
}

TEST(region_zero_tag_is_zero)
{
	struct region r = make_region(2, TAG_ZERO);
	memset(r.base, 0xAA, 2 * 4096);
	region_fill_pages(&r, 5, 0, 2);
	for (int i = 0; i < 2 * 4096; i++)
		CHECK_EQ(r.base[i], 0);
	CHECK_EQ(region_verify_pages(&r, 5, 0, 2, 0, 0), 0);
	free(r.base);
}

TEST(region_patch_changes_one_word_per_page)
{
	struct region r = make_region(4, TAG_DUP);
	region_fill_pages(&r, 3, 0, 4);
	r.patched_pages = 2;
	/* Before the patch is written, exactly the patched words differ. */
	uint64_t bad = region_verify_pages(&r, 3, 0, 4, 0, 0);
	CHECK(bad >= 2 && bad <= 16);
	for (uint64_t p = 0; p < 2; p++) {
		uint64_t *w = (uint64_t *)(r.base + p * 4096);
		w[region_patch_index(3, p)] = region_patch_value(3, p);
	}
	CHECK_EQ(region_verify_pages(&r, 3, 0, 4, 0, 0), 0);
	free(r.base);
}

TEST(region_contents_do_not_depend_on_address)
{
	/* Two VMs with the same seed must write identical dup pages. */
	struct region a = make_region(2, TAG_DUP), b = make_region(2, TAG_DUP);
	region_fill_pages(&a, 77, 0, 2);
	region_fill_pages(&b, 77, 0, 2);
	CHECK(memcmp(a.base, b.base, 2 * 4096) == 0);
	CHECK_EQ(region_digest(&a), region_digest(&b));
	free(a.base);
	free(b.base);
}

TEST(region_generation_changes_content)
{
	struct region r = make_region(1, TAG_HOT);
	region_fill_pages(&r, 1, 0, 1);
	r.gen = 1;
	CHECK(region_verify_pages(&r, 1, 0, 1, 0, 0) > 4000);
	free(r.base);
}

TEST(region_group_makes_identical_runs)
{
	/* volatile's still set: pages 2k and 2k+1 equal, other pairs not,
	 * and page 2k equals page k of an ungrouped region (same key). */
	struct region r = make_region(5, TAG_STILL);
	struct region u = make_region(3, TAG_STILL);
	r.group = 2;
	region_fill_pages(&r, 9, 0, 5);
	region_fill_pages(&u, 9, 0, 3);
	CHECK(memcmp(r.base, r.base + 4096, 4096) == 0);
	CHECK(memcmp(r.base + 2 * 4096, r.base + 3 * 4096, 4096) == 0);
	CHECK(memcmp(r.base, r.base + 2 * 4096, 4096) != 0);
	CHECK(memcmp(r.base + 3 * 4096, r.base + 4 * 4096, 4096) != 0);
	CHECK(memcmp(r.base + 4 * 4096, u.base + 2 * 4096, 4096) == 0);
	CHECK_EQ(region_verify_pages(&r, 9, 0, 5, 0, 0), 0);
	/* Verification uses the grouping too: an ungrouped view of the same
	 * bytes is wrong from page 1 on. */
	r.group = 0;
	CHECK_EQ(region_verify_pages(&r, 9, 0, 1, 0, 0), 0);
	CHECK(region_verify_pages(&r, 9, 1, 1, 0, 0) > 4000);
	free(r.base);
	free(u.base);
}
