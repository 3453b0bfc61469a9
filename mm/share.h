/*
 * share.h - content-based page sharing with copy-on-write (mm/share.c).
 * Pure logic: the hypervisor (hv/vmmem.c) and the host tests
 * (tests/test_share.c) supply the memory.
 */
#ifndef MM_SHARE_H
#define MM_SHARE_H

#include "pool.h"

struct gmem;

#define SHARE_VMS 8		/* VMs the scanner knows (VM ids 0..7) */
#define SHARE_GROUP_MAX 255
#define SHARE_SCAN_MAX 65536

struct share_stats {
	u64 scanned;		/* private pages hashed */
	u64 full_scans;		/* passes over every VM's memory */
	u64 volatile_pages;	/* hash changed since the page's last scan */
	u64 collisions;		/* same hash, different bytes: not merged */
	u64 stale_candidates;	/* candidates changed since their scan */
	u64 skipped_page_tables; /* pages skipped: a walk broke them once */
	u64 reclaims;		/* urgent passes for a VM that found the pool
				   empty */
	u64 merges;		/* pages merged into a shared frame */
	u64 zero_merges;	/* ... into the zero frame */
	u64 cow_breaks;		/* writes to shared pages: a private copy */
	u64 cow_in_place;	/* ... that found the last reference: no copy */
	u64 cow_page_walks;	/* ... caused by the guest's page-table walk */
	u64 frames_shared;	/* pool frames holding shared content now */
	u64 frames_freed;	/* duplicate frames returned to the pool */
};

struct share {
	bool on;
	struct pool *pool;
	void *(*ptr)(void *ctx, u64 hpa);	/* a frame's bytes */
	void *ctx;
	u64 (*hash)(const void *page);	/* XXH3 of 4 KiB; tests may
					   replace it */
	u32 *buckets;		/* frame index + 1 of each chain's head */
	u64 nbuckets;		/* a power of two */
	struct gmem *vm[SHARE_VMS];	/* by VM id; NULL: none */
	u8 group[SHARE_VMS];	/* share_group= of each VM */
	u64 zero_hpa;		/* the zero frame: never freed, never
				   written, outside the pool */
	u32 zero_hash;
	u64 zero_refs;		/* guest pages mapped to it */
	int cursor_vm;		/* where the scanner goes on */
	u64 cursor_gfn;
	struct share_stats st;
};

/* XXH3_64bits over one 4 KiB page (xxHash, scalar code). */
u64 share_page_hash(const void *page);

/* buckets holds nbuckets (a power of two) u32s; zero_hpa is a zeroed
 * frame outside the pool. */
void share_init(struct share *s, bool on, struct pool *pool,
		void *(*ptr)(void *ctx, u64 hpa), void *ctx, u32 *buckets,
		u64 nbuckets, u64 zero_hpa);

/* A VM joins or leaves the scan (gmem_init / gmem_destroy do it). */
void share_attach(struct share *s, struct gmem *g, unsigned group);
void share_detach(struct share *s, struct gmem *g);

/*
 * One round of the scanner: hashes up to budget private pages, going on
 * from where the last round stopped, merges the stable identical ones,
 * and settles every VM whose mappings changed (so the duplicate frames
 * are back in the pool when it returns).  Returns the pages hashed.
 */
u64 share_scan(struct share *s, u64 budget);

/*
 * Reclaim by sharing, when a VM finds the pool empty: one pass over every
 * private page that merges whatever is identical now (no waiting for a
 * second scan: the guests are not running).  Returns the frames it gave
 * back to the pool.
 */
u64 share_reclaim(struct share *s);

/* Called by mm/gmem.c: a frame leaves the hash table before it is freed
 * or changes state. */
void share_unhash(struct share *s, u64 hpa);

/* Drops one guest page's reference to the shared frame (or the zero
 * frame) at hpa; the caller has unmapped that page and flushed.  A frame
 * left with no reference goes back to the pool. */
void share_put(struct share *s, u64 hpa);

/* The frames the guests' resident pages occupy now, and the fewest they
 * could occupy with perfect sharing (identical content once per group,
 * zero pages in the zero frame), counted by an exhaustive pass that does
 * not use the scanner's table.  scratch holds room for every resident
 * page (16 bytes each) across all attached VMs. */
struct share_oracle {
	u64 resident;		/* guest pages with content */
	u64 used;		/* pool frames they occupy */
	u64 ideal;		/* frames perfect sharing would need */
};
u64 share_resident(const struct share *s);
struct share_oracle share_oracle(const struct share *s, void *scratch);

/* Pool frames perfect sharing would save, and sharing saves now. */
static inline u64 share_possible(const struct share_oracle *o)
{
	return o->resident - o->ideal;
}
static inline u64 share_saved(const struct share_oracle *o)
{
	return o->resident - o->used;
}

/* The global invariant: every FRAME_SHARED frame's refcount equals the
 * SHARED p2m entries of all attached VMs that point to it, the zero
 * frame's count too, every shared frame is on its hash chain, and no page
 * shares a frame of another sharing group.
 * census holds pool->nframes u32s.  Returns the differences (reported). */
typedef void share_report_fn(void *ctx, const char *fmt, ...) __printf(2, 3);
u64 share_check(const struct share *s, u32 *census, share_report_fn *report,
		void *ctx);

#endif
