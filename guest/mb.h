/*
 * mb.h - reading the Multiboot v1 information structure.
 *
 * The loader (QEMU's -kernel, or memvisor) leaves the info structure, the
 * command line and the memory map somewhere in guest RAM.  mb_read() copies
 * what the guest needs into a `struct boot_mem` and records where the
 * originals lie, so the frame allocator can keep its hands off them.
 * Pure C: guest-physical addresses are turned into pointers by adding
 * `phys_offset`, which the host tests point at a fake memory buffer.
 */
#ifndef GUEST_MB_H
#define GUEST_MB_H

#include <stdint.h>

/* Multiboot Specification 0.6.96, 3.3 "Boot information format". */
#define MB_INFO_MEM (1u << 0)     /* mem_lower, mem_upper valid */
#define MB_INFO_CMDLINE (1u << 2) /* cmdline valid */
#define MB_INFO_MMAP (1u << 6)    /* mmap_length, mmap_addr valid */
#define MB_MMAP_AVAILABLE 1       /* memory map type "available RAM" */

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 */
	uint32_t mem_upper; /* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
} __attribute__((packed));

/* One memory-map entry; `size` excludes itself, so the next entry starts
 * size + 4 bytes further on. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));

#define BOOT_MAX_REGIONS 64
#define BOOT_CMDLINE_MAX 1024
#define BOOT_MAX_RESERVED 4

struct boot_region {
	uint64_t base;
	uint64_t length;
	uint32_t type;
};

struct boot_range {
	uint64_t base;
	uint64_t length;
};

struct boot_mem {
	struct boot_region region[BOOT_MAX_REGIONS];
	int nregions;
	int mmap_truncated;          /* more entries than BOOT_MAX_REGIONS */
	int from_mem_fields;         /* no mmap: built from mem_lower/upper */
	char cmdline[BOOT_CMDLINE_MAX];
	int cmdline_truncated;
	/* Where the loader's structures are, to be kept out of the allocator. */
	struct boot_range reserved[BOOT_MAX_RESERVED];
	int nreserved;
};

/* Returns 0, or -1 when the info has neither a memory map nor mem_*. */
int mb_read(uint64_t info_pa, uint64_t phys_offset, struct boot_mem *out);

/* End of the highest "available" region: the first address beyond RAM. */
uint64_t boot_ram_top(const struct boot_mem *m);

#endif
