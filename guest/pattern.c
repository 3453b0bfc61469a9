/*
 * pattern.c - deterministic page contents.
 *
 * Each level of the key (seed, tag, generation, page) goes through the mixer
 * once, so nearby seeds or pages give unrelated data, and a word is the key
 * mixed with its index.  A stale translation, a page swapped in at the wrong
 * place, or two pages merged that were not equal therefore show up as a
 * mismatch in (almost) every word, not just one.
 */
#include "pattern.h"

/* 2^64 / golden ratio: the usual odd increment for Weyl sequences. */
#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ull

uint64_t pattern_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x;
}

uint64_t pattern_page_key(uint64_t seed, uint32_t tag, uint64_t gen,
			  uint64_t page)
{
	uint64_t k = pattern_mix(seed + GOLDEN_GAMMA * (tag + 1ull));
	k = pattern_mix(k ^ (gen * GOLDEN_GAMMA));
	return pattern_mix(k + page * GOLDEN_GAMMA);
}

uint64_t pattern_word(uint64_t key, unsigned word)
{
	return pattern_mix(key + (word + 1ull) * GOLDEN_GAMMA);
}

void pattern_fill_page(void *page, uint64_t key)
{
	volatile uint64_t *w = page;
	for (unsigned i = 0; i < PATTERN_WORDS_PER_PAGE; i++)
		w[i] = pattern_word(key, i);
}
