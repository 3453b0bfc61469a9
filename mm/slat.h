/*
 * slat.h - second-level address translation tables (EPT or NPT), built and
 * walked without knowing which: the entry bits come from the backend's
 * struct slat_format.  Pure logic, host-tested (tests/test_slat.c).
 */
#ifndef MM_SLAT_H
#define MM_SLAT_H

#include "../hv/types.h"

/* Permissions of a second-level leaf entry; each format translates them
 * into its own bits. */
#define SLAT_R (1u << 0)
#define SLAT_W (1u << 1)
#define SLAT_X (1u << 2)
#define SLAT_RWX (SLAT_R | SLAT_W | SLAT_X)

/*
 * The entry format of a backend's second-level tables.  The tables below
 * are built and walked for every format through these; only the bits
 * differ.  The backend provides the one its hardware reads, and mm/ knows
 * nothing else about it.
 */
struct slat_format {
	const char *name;	/* for messages: "EPT", "NPT" */
	u64 (*make_table)(u64 table_hpa);	/* non-leaf: full access */
	u64 (*make_leaf)(u64 hpa, unsigned perms);	/* 4 KiB leaf */
	bool (*present)(u64 entry);
	u64 (*address)(u64 entry);
	unsigned (*perms)(u64 entry);	/* SLAT_R|W|X of a leaf */
};

/* Where table pages come from, and how to reach one by its address. */
struct slat_env {
	u64 (*alloc_table)(void *ctx);	/* a zeroed page, or 0 */
	void (*free_table)(void *ctx, u64 hpa);
	void *(*ptr)(void *ctx, u64 hpa);	/* identity in the hypervisor */
	void *ctx;
};

struct slat {
	const struct slat_format *fmt;
	struct slat_env env;
	u64 root;		/* host physical address of the top table */
	u64 tables;		/* table pages in use, root included */
	u64 leaves;		/* present 4 KiB leaf entries */
};

/* 0, or -1 if the root table cannot be allocated. */
int slat_init(struct slat *s, const struct slat_format *fmt,
	      const struct slat_env *env);

/* Maps the 4 KiB page at gpa to hpa.  0, or -1 if a table page could not
 * be allocated: no mapping changed then, though tables created on the way
 * stay (empty, counted, and used by the next map). */
int slat_map(struct slat *s, u64 gpa, u64 hpa, unsigned perms);

/* Removes the mapping of gpa; true if one was present.  The caller owes the
 * TLB flush before reusing the old frame. */
bool slat_unmap(struct slat *s, u64 gpa);

/* The leaf entry for gpa if present. */
bool slat_lookup(const struct slat *s, u64 gpa, u64 *entry);

/* Calls fn for every present leaf, in ascending gpa order. */
void slat_for_each_leaf(const struct slat *s,
			void (*fn)(void *ctx, u64 gpa, u64 entry), void *ctx);

/* Drops every mapping of [gpa, gpa + size) with the tables below it; size
 * and gpa aligned to the span of one table entry at some level (4 KiB,
 * 2 MiB, 1 GiB, 512 GiB). */
void slat_drop(struct slat *s, u64 gpa, u64 size);

/* Frees every table page. */
void slat_destroy(struct slat *s);

#endif
