/*
 * region.h - a run of pages whose every byte the guest can predict, with
 * fill and verify over it.
 *
 * A region's expected content is fully described by this struct and the
 * seed: pages hold pattern(seed, tag, gen, page), except that pages below
 * `patched_pages` carry one word overwritten by the cow workload, and that
 * with `group` > 1 the pattern's page index is page / group (runs of
 * `group` identical pages, for sharing within one VM).  Pure C
 * over plain pointers, so tests/test_guest_pattern.c checks fill, verify and
 * mismatch reporting on host memory.
 */
#ifndef GUEST_REGION_H
#define GUEST_REGION_H

#include <stdint.h>

#include "pattern.h"

#define REGION_PAGE_SIZE 4096ull

struct region {
	const char *name;
	uint8_t *base;
	uint64_t pages;
	uint32_t tag;
	uint64_t gen;            /* bumped when a region is rewritten */
	uint64_t patched_pages;  /* pages [0, patched_pages) have a cow word */
	uint64_t group;          /* >1: pages p and q with p/group == q/group
				    hold the same bytes (keyed by p/group) */
};

/* Called once per wrong byte; `addr` is where the byte is. */
typedef void (*region_report_fn)(void *ctx, uint64_t addr, uint8_t expected,
				 uint8_t actual);

uint64_t region_expected_word(const struct region *r, uint64_t seed,
			      uint64_t page, unsigned word);

/* The word index and value the cow workload writes into page `page`. */
unsigned region_patch_index(uint64_t seed, uint64_t page);
uint64_t region_patch_value(uint64_t seed, uint64_t page);

/* Fills pages [first, first+count) with their expected content. */
void region_fill_pages(const struct region *r, uint64_t seed, uint64_t first,
		       uint64_t count);

/* Checks every byte of pages [first, first+count); returns the number of
 * wrong bytes and calls report (if not null) for each. */
uint64_t region_verify_pages(const struct region *r, uint64_t seed,
			     uint64_t first, uint64_t count,
			     region_report_fn report, void *ctx);

/* A hash of the region's actual bytes: equal digests on two VMs mean equal
 * content, without printing megabytes. */
uint64_t region_digest(const struct region *r);

#endif
