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
	u64 accessed;		/* the leaf's accessed flag, which the CPU
				   sets on a walk; 0 if it keeps none */
};

/*
 * Where table pages come from, how to reach one by its address, and how to
 * invalidate every translation the CPU may have cached from these tables
 * (the backend's flush of this VM's guest-physical translations).
 */
struct slat_env {
	u64 (*alloc_table)(void *ctx);	/* a zeroed page, or 0 */
	void (*free_table)(void *ctx, u64 hpa);
	void *(*ptr)(void *ctx, u64 hpa);	/* identity in the hypervisor */
	void (*flush)(void *ctx);
	void *ctx;
	/* Optional: the present leaf at gpa, which mapped old_hpa, was just
	 * removed or weakened (each change that owes a flush), or with gpa
	 * SLAT_UNMAPPED_MANY a whole subtree went.  For a copy of these
	 * translations kept elsewhere (mm/shadow.c's reverse map). */
	void (*unmapped)(void *ctx, u64 gpa, u64 old_hpa);
	/* Optional, for a format without an accessed flag: was the page at
	 * gpa (mapped to hpa) used since the last call, as another record of
	 * these translations can tell (1 or 0, its flags cleared), or -1 if
	 * it cannot (slat_test_and_clear_accessed() then removes the leaf). */
	int (*sample)(void *ctx, u64 gpa, u64 hpa);
};
#define SLAT_UNMAPPED_MANY (~0ull)

/*
 * The TLB rule as a mechanism: every change that removes or weakens a
 * present entry sets flush_owed, and table pages taken out of the tree
 * wait on a list (stale_tables) instead of being freed.  slat_flush() pays
 * the debt: it calls env.flush and only then frees the stale tables.  Until
 * then no frame or table a stale translation could reach is reused,
 * whatever the caller does (mm/gmem.c holds guest frames back the same
 * way).  This relies on one physical CPU: see docs/hypervisor.md.
 */
struct slat {
	const struct slat_format *fmt;
	struct slat_env env;
	u64 root;		/* host physical address of the top table */
	u64 tables;		/* table pages in the tree, root included */
	u64 leaves;		/* present 4 KiB leaf entries */
	bool flush_owed;	/* a present entry changed since the last flush */
	u64 stale_tables;	/* list of table pages out of the tree, linked
				   through their first entry; 0 = empty */
	u64 nstale_tables;
	u64 flushes;		/* flushes paid */
};

/* 0, or -1 if the root table cannot be allocated. */
int slat_init(struct slat *s, const struct slat_format *fmt,
	      const struct slat_env *env);

/* Maps the 4 KiB page at gpa to hpa.  0, or -1 if a table page could not
 * be allocated: no mapping changed then, though tables created on the way
 * stay (empty, counted, and used by the next map).  Replacing a present
 * leaf with another frame or fewer permissions owes a flush. */
int slat_map(struct slat *s, u64 gpa, u64 hpa, unsigned perms);

/* Removes the mapping of gpa; true if one was present (a flush is then
 * owed). */
bool slat_unmap(struct slat *s, u64 gpa);

/*
 * Was the page at gpa used since the last call?  With a hardware accessed
 * flag: its value, and it is cleared; without one, what env.sample says,
 * or whether the leaf is present, and it is removed (the next touch is a
 * violation: sampling in software).  Either way a flush is owed, so that
 * the next access really reaches the tables.  false if nothing is
 * mapped.
 */
bool slat_test_and_clear_accessed(struct slat *s, u64 gpa);

/* The leaf entry for gpa if present. */
bool slat_lookup(const struct slat *s, u64 gpa, u64 *entry);

/* Calls fn for every present leaf, in ascending gpa order. */
void slat_for_each_leaf(const struct slat *s,
			void (*fn)(void *ctx, u64 gpa, u64 entry), void *ctx);

/* Drops every mapping of [gpa, gpa + size) with the tables below it; size
 * and gpa aligned to the span of one table entry at some level (4 KiB,
 * 2 MiB, 1 GiB, 512 GiB).  The tables wait for the flush. */
void slat_drop(struct slat *s, u64 gpa, u64 size);

/* Pays an owed flush (env.flush), then frees the stale tables.  Cheap when
 * nothing is owed: the core calls it before every VM entry. */
void slat_flush(struct slat *s);

/* Drops every mapping, flushes, and frees every table page, the root too. */
void slat_destroy(struct slat *s);

#endif
