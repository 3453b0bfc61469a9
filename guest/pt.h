/*
 * pt.h - x86-64 four-level page tables as data: entry bits, map, unmap and
 * walk.  Pure C: the tables are reached through `phys_offset` (a table at
 * physical address pa is at pa + phys_offset), and new tables come from a
 * caller's callback, so tests/test_guest_pt.c runs all of it on the host over
 * a plain array.  TLB invalidation is the caller's job (vm.c): this file
 * reports the old entry so the caller knows when one is needed.
 *
 * Levels are numbered like the SDM's tables: 4 = PML4, 3 = PDPT, 2 = PD,
 * 1 = PT.
 */
#ifndef GUEST_PT_H
#define GUEST_PT_H

#include <stdint.h>

/* Paging-structure entry bits (Intel SDM Vol. 3A, 4.5, tables 4-15..4-20;
 * AMD APM Vol. 2, 5.3.3). */
#define PTE_P (1ull << 0)   /* present */
#define PTE_W (1ull << 1)   /* writable */
#define PTE_U (1ull << 2)   /* user-accessible */
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)   /* accessed */
#define PTE_D (1ull << 6)   /* dirty (leaf only) */
#define PTE_PS (1ull << 7)  /* page size: leaf at PDPT/PD level */
#define PTE_G (1ull << 8)   /* global */
#define PTE_NX (1ull << 63) /* execute-disable, needs EFER.NXE */
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull /* bits 51:12 */

#define PT_ENTRIES 512
#define PAGE_SIZE_4K 0x1000ull
#define PAGE_SIZE_2M 0x200000ull
#define PAGE_SIZE_1G 0x40000000ull

/* Page-fault error code bits (Intel SDM Vol. 3A, 4.7). */
#define PF_P (1ull << 0)    /* 0: not present, 1: protection violation */
#define PF_W (1ull << 1)    /* write access */
#define PF_U (1ull << 2)    /* user-mode access */
#define PF_RSVD (1ull << 3) /* reserved bit set in an entry */
#define PF_I (1ull << 4)    /* instruction fetch */

struct pt_space {
	uint64_t root;          /* physical address of the PML4 */
	uint64_t phys_offset;   /* table at pa is at (pa + phys_offset) */
	/* Returns the physical address of a zeroed 4 KiB table, or 0. */
	uint64_t (*alloc_table)(void *ctx);
	void *ctx;
};

/* What a walk saw at each level, top first: entry[0] is the PML4E. */
struct pt_walk {
	uint64_t entry[4];
	unsigned index[4];
	int levels;      /* entries read (1..4); stops at not-present or a leaf */
	int present;     /* the address translates */
	uint64_t pa;     /* the translation, valid when present */
	uint64_t page_size;
};

enum pt_error {
	PT_OK = 0,
	PT_NO_MEMORY = -1, /* alloc_table returned 0 */
	PT_HUGE_IN_WAY = -2, /* a large page covers the address */
	PT_UNALIGNED = -3,
};

unsigned pt_index(uint64_t va, int level);
int pt_is_canonical(uint64_t va);

/*
 * Sets the leaf entry for va at `level` (1 = 4 KiB page, 2 = 2 MiB page) to
 * pa | flags | P, creating missing tables on the way.  *old receives the
 * entry it replaced (0 if none): if that was present, the caller must
 * invalidate the TLB for va.
 */
int pt_map(struct pt_space *s, uint64_t va, uint64_t pa, uint64_t flags,
	   int level, uint64_t *old);

/* Clears the 4 KiB leaf entry for va; returns what was there (0 if no
 * table or no entry).  Tables are kept even when they become empty. */
uint64_t pt_unmap(struct pt_space *s, uint64_t va);

/* Translates va by reading the tables, as the MMU would. */
int pt_walk(const struct pt_space *s, uint64_t va, struct pt_walk *w);

const char *pt_level_name(int level);

/* "P W NX ..." for the set bits of an entry, into buf. */
void pt_describe_entry(uint64_t e, char *buf, int size);

/* "not-present write, supervisor, data" style decoding, into buf. */
void pt_describe_pf_error(uint64_t err, char *buf, int size);

#endif
