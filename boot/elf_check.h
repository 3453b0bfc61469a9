/*
 * elf_check.h - validating hv.elf before a loader trusts it (pure logic,
 * host-tested).
 */
#ifndef BOOT_ELF_CHECK_H
#define BOOT_ELF_CHECK_H

#include "boot_info.h"

#define ELF_MAX_SEGMENTS 8

struct elf_segment {
	u64 paddr;
	u64 memsz;
	u64 filesz;
	u64 offset;
	u32 flags;
};

struct elf_plan {
	u64 entry;
	u64 lo, hi;		/* physical extent of all segments */
	int count;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * Checks that image[0..size) is an x86-64 ELF executable whose PT_LOAD
 * segments lie inside the file, inside usable RAM of the normalized map and
 * do not overlap, and whose entry point is in an executable segment.  Fills
 * *plan and returns 0, or returns -1 with a one-line reason in err.
 */
int elf_check_hv(const void *image, u64 size, const struct boot_mem_range *map,
		 int nmap, struct elf_plan *plan, char *err, size_t errlen);

#endif
