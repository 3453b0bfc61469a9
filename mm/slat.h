/*
 * slat.h - second-level address translation tables (EPT or NPT), built and
 * walked without knowing which: the entry bits come from the backend's
 * struct slat_format.  Pure logic, host-tested (tests/test_slat.c).
 */
#ifndef MM_SLAT_H
#define MM_SLAT_H

#include "../hv/backend.h"

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
