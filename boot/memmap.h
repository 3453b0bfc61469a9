/*
 * memmap.h - normalizing a physical memory map (pure logic, host-tested).
 */
#ifndef BOOT_MEMMAP_H
#define BOOT_MEMMAP_H

#include "boot_info.h"

/* Appends one range; returns the new count, or -1 when cap is reached. */
int memmap_add(struct boot_mem_range *map, int n, int cap, u64 base, u64 len,
	       u32 type);

/*
 * Rewrites map[0..n) in place into sorted, non-overlapping, page-aligned
 * ranges with adjacent ranges of one type merged.  Where ranges overlap the
 * higher enum boot_mem_type wins.  Usable ranges shrink inward to page
 * boundaries; all others grow outward, so a partly reserved page is
 * reserved.  Returns the new count, or -1 if the result needs more than cap
 * entries (map is then unchanged).
 */
int memmap_normalize(struct boot_mem_range *map, int n, int cap);

/* Bytes of the given type in a normalized map. */
u64 memmap_total(const struct boot_mem_range *map, int n, u32 type);

/* True if [base, base+len) lies inside one range of the given type. */
bool memmap_contains(const struct boot_mem_range *map, int n, u64 base,
		     u64 len, u32 type);

const char *memmap_type_name(u32 type);

#endif
