/*
 * pattern.h - the data every workload writes, as a pure function of
 * (seed, tag, generation, page index, word index).
 *
 * Because the expected value of any word can be recomputed at any time, the
 * guest can verify every byte of every region without keeping a copy; and
 * because the value does not depend on where the page lives (virtual or
 * physical address, VM number), two guests given the same seed write
 * byte-identical "dup" pages for the hypervisor to share.
 */
#ifndef GUEST_PATTERN_H
#define GUEST_PATTERN_H

#include <stdint.h>

#define PATTERN_WORDS_PER_PAGE 512 /* 4096 / 8 */

/* Pattern families.  TAG_ZERO is special: every word is 0. */
enum pattern_tag {
	TAG_ZERO = 0,
	TAG_TOUCH = 1,
	TAG_DUP = 2,
	TAG_COW = 3,
	TAG_HOT = 4,
	TAG_COLD = 5,
	TAG_IDLE = 6,
	TAG_PT = 7,
	TAG_BALLOON = 8,
	TAG_VOLATILE = 9, /* rewritten every round (a new generation) */
	TAG_STILL = 10,   /* written once, in identical pairs */
	TAG_ZERO_DIRTY = 11, /* what the zero workload writes before zeros */
	TAG_SPILL = 12,   /* spill: written, mostly given back */
	TAG_GROW = 13,    /* grow: written step by step */
};

/* A bijective 64-bit mixer (the splitmix64 finalizer): a one-bit change in
 * the input changes about half the output bits. */
uint64_t pattern_mix(uint64_t x);

/* The per-page key; every word of the page derives from it. */
uint64_t pattern_page_key(uint64_t seed, uint32_t tag, uint64_t gen,
			  uint64_t page);

/* Word `word` (0..511) of the page with that key. */
uint64_t pattern_word(uint64_t key, unsigned word);

void pattern_fill_page(void *page, uint64_t key);

#endif
