/*
 * region.c - fill and verify for pattern regions.
 *
 * Verification compares 8-byte words against the recomputed pattern and only
 * on a mismatch looks at the 8 bytes one by one, so the common (correct) case
 * costs one pattern word per 8 bytes and a failure still names every byte.
 */
#include "region.h"

/* Distinguishes the patch index stream from page keys of any tag. */
#define PATCH_SALT 0xC0A7C0A7C0A7C0A7ull

unsigned region_patch_index(uint64_t seed, uint64_t page)
{
	return (unsigned)(pattern_mix(seed ^ PATCH_SALT ^ pattern_mix(page)) %
			  PATTERN_WORDS_PER_PAGE);
}

uint64_t region_patch_value(uint64_t seed, uint64_t page)
{
	return pattern_word(pattern_page_key(seed, TAG_COW, 0, page), 0);
}

/* Everything needed to predict one page, computed once per page so the
 * per-word cost is a single mix. */
struct page_expect {
	uint64_t key;
	int zero;
	int patched;
	unsigned patch_index;
	uint64_t patch_value;
};

static void expect_page(const struct region *r, uint64_t seed, uint64_t page,
			struct page_expect *pe)
{
	pe->zero = r->tag == TAG_ZERO;
	uint64_t index = r->group > 1 ? page / r->group : page;
	pe->key = pe->zero ? 0 : pattern_page_key(seed, r->tag, r->gen, index);
	pe->patched = page < r->patched_pages;
	pe->patch_index = pe->patched ? region_patch_index(seed, page) : 0;
	pe->patch_value = pe->patched ? region_patch_value(seed, page) : 0;
}

static uint64_t expected_word(const struct page_expect *pe, unsigned word)
{
	if (pe->patched && word == pe->patch_index)
		return pe->patch_value;
	return pe->zero ? 0 : pattern_word(pe->key, word);
}

uint64_t region_expected_word(const struct region *r, uint64_t seed,
			      uint64_t page, unsigned word)
{
	struct page_expect pe;
	expect_page(r, seed, page, &pe);
	return expected_word(&pe, word);
}

static volatile uint64_t *page_words(const struct region *r, uint64_t page)
{
	return (volatile uint64_t *)(r->base + page * REGION_PAGE_SIZE);
}

void region_fill_pages(const struct region *r, uint64_t seed, uint64_t first,
		       uint64_t count)
{
	struct page_expect pe;
	for (uint64_t p = first; p < first + count; p++) {
		volatile uint64_t *w = page_words(r, p);
		expect_page(r, seed, p, &pe);
		for (unsigned i = 0; i < PATTERN_WORDS_PER_PAGE; i++)
			w[i] = expected_word(&pe, i);
	}
}

static uint64_t report_word(volatile uint64_t *where, uint64_t expected,
			    uint64_t actual, region_report_fn report,
			    void *ctx)
{
	uint64_t bad = 0;
	/* x86 is little-endian: byte b of the word is bits 8b+7..8b. */
	for (unsigned b = 0; b < 8; b++) {
		uint8_t e = (uint8_t)(expected >> (8 * b));
		uint8_t a = (uint8_t)(actual >> (8 * b));
		if (e == a)
			continue;
		bad++;
		if (report)
			report(ctx, (uint64_t)(uintptr_t)where + b, e, a);
	}
	return bad;
}

uint64_t region_verify_pages(const struct region *r, uint64_t seed,
			     uint64_t first, uint64_t count,
			     region_report_fn report, void *ctx)
{
	uint64_t bad = 0;

	for (uint64_t p = first; p < first + count; p++) {
		volatile uint64_t *w = page_words(r, p);
		struct page_expect pe;
		expect_page(r, seed, p, &pe);
		for (unsigned i = 0; i < PATTERN_WORDS_PER_PAGE; i++) {
			uint64_t expected = expected_word(&pe, i);
			uint64_t actual = w[i];
			if (actual != expected)
				bad += report_word(&w[i], expected, actual,
						   report, ctx);
		}
	}
	return bad;
}

uint64_t region_digest(const struct region *r)
{
	uint64_t h = r->pages;
	for (uint64_t p = 0; p < r->pages; p++) {
		volatile uint64_t *w = page_words(r, p);
		for (unsigned i = 0; i < PATTERN_WORDS_PER_PAGE; i++)
			h = pattern_mix(h ^ w[i]);
	}
	return h;
}
