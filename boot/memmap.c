/*
 * memmap.c - turns whatever the firmware reported into a map the frame
 * allocator can trust.
 *
 * Firmware maps may be unsorted, may overlap (UEFI reports our own
 * allocations inside conventional memory; BIOS e820 maps have been seen to
 * overlap) and may not be page-aligned.  The normalization is a sweep over
 * the elementary intervals between all range boundaries: each interval takes
 * the highest-precedence type of the ranges that cover it, so a reservation
 * always beats "usable".  That is O(n^2) for n ranges, which is nothing for
 * the few hundred entries a map has, and needs no allocation, so a loader
 * can run it after ExitBootServices().
 */
#include "memmap.h"

int memmap_add(struct boot_mem_range *map, int n, int cap, u64 base, u64 len,
	       u32 type)
{
	if (n < 0 || n >= cap)
		return -1;
	map[n] = (struct boot_mem_range){ .base = base, .length = len,
					  .type = type };
	return n + 1;
}

static void sort_points(u64 *p, int n)
{
	for (int i = 1; i < n; i++) {
		u64 v = p[i];
		int j = i;
		while (j > 0 && p[j - 1] > v) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = v;
	}
}

/* Aligns a range for the sweep; returns false if nothing is left of it. */
static bool align_range(const struct boot_mem_range *r, u64 *start, u64 *end)
{
	u64 last = r->base + r->length;

	if (r->length == 0 || r->type == BOOT_MEM_NONE ||
	    r->type >= BOOT_MEM_TYPE_COUNT)
		return false;
	if (last < r->base)	/* wraps: clamp to the top of the space */
		last = ~0ull & PAGE_MASK;
	if (r->type == BOOT_MEM_USABLE) {
		if (r->base > (~0ull & PAGE_MASK))
			return false;	/* no whole page: ALIGN_UP would wrap */
		*start = ALIGN_UP(r->base, PAGE_SIZE);
		*end = ALIGN_DOWN(last, PAGE_SIZE);
	} else {
		*start = ALIGN_DOWN(r->base, PAGE_SIZE);
		*end = last > (~0ull & PAGE_MASK) ? (~0ull & PAGE_MASK)
						   : ALIGN_UP(last, PAGE_SIZE);
	}
	return *start < *end;
}

int memmap_normalize(struct boot_mem_range *map, int n, int cap)
{
	/* static: 10 KiB is too much for an early boot stack */
	static u64 points[2 * BOOT_MMAP_MAX];
	static struct boot_mem_range out[BOOT_MMAP_MAX];
	int np = 0, nout = 0;

	if (n < 0 || n > BOOT_MMAP_MAX || cap < 0 || cap > BOOT_MMAP_MAX)
		return -1;

	for (int i = 0; i < n; i++) {
		u64 s, e;
		if (align_range(&map[i], &s, &e)) {
			points[np++] = s;
			points[np++] = e;
		}
	}
	sort_points(points, np);

	for (int i = 0; i + 1 < np; i++) {
		u64 s = points[i], e = points[i + 1];
		u32 type = BOOT_MEM_NONE;

		if (s == e)
			continue;
		for (int j = 0; j < n; j++) {
			u64 rs, re;
			if (align_range(&map[j], &rs, &re) && rs <= s &&
			    e <= re && map[j].type > type)
				type = map[j].type;
		}
		if (type == BOOT_MEM_NONE)
			continue;
		if (nout > 0 && out[nout - 1].type == type &&
		    out[nout - 1].base + out[nout - 1].length == s) {
			out[nout - 1].length += e - s;
			continue;
		}
		if (nout == cap)
			return -1;
		out[nout++] = (struct boot_mem_range){ .base = s,
						       .length = e - s,
						       .type = type };
	}
	for (int i = 0; i < nout; i++)
		map[i] = out[i];
	return nout;
}

u64 memmap_total(const struct boot_mem_range *map, int n, u32 type)
{
	u64 sum = 0;
	for (int i = 0; i < n; i++)
		if (map[i].type == type)
			sum += map[i].length;
	return sum;
}

bool memmap_contains(const struct boot_mem_range *map, int n, u64 base,
		     u64 len, u32 type)
{
	u64 end = base + len;

	if (end < base)
		return false;
	for (int i = 0; i < n; i++)
		if (map[i].type == type && map[i].base <= base &&
		    end <= map[i].base + map[i].length)
			return true;
	return false;
}

const char *memmap_type_name(u32 type)
{
	static const char *const names[BOOT_MEM_TYPE_COUNT] = {
		[BOOT_MEM_NONE] = "none",
		[BOOT_MEM_USABLE] = "usable",
		[BOOT_MEM_LOADER] = "loader",
		[BOOT_MEM_MODULE] = "module",
		[BOOT_MEM_HV_IMAGE] = "hv-image",
		[BOOT_MEM_ACPI_RECLAIM] = "acpi",
		[BOOT_MEM_ACPI_NVS] = "acpi-nvs",
		[BOOT_MEM_FIRMWARE] = "firmware",
		[BOOT_MEM_RESERVED] = "reserved",
		[BOOT_MEM_BAD] = "bad",
	};
	return type < BOOT_MEM_TYPE_COUNT ? names[type] : "unknown";
}
