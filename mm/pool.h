/*
 * pool.h - the guest-memory pool: the host frames guest pages live in,
 * apart from the hypervisor's own allocations, with one 16-byte metadata
 * record per frame.  Pure logic, host-tested (tests/test_pool.c).
 */
#ifndef MM_POOL_H
#define MM_POOL_H

#include "../hv/types.h"

enum frame_state {
	FRAME_FREE = 0,
	FRAME_PRIVATE,		/* one guest page of one VM */
	FRAME_SHARED,		/* several guest pages, read-only (sharing) */
	FRAME_STALE,		/* released, waiting for the TLB flush that
				   makes it unreachable (mm/gmem.c) */
};

/*
 * 16 bytes per frame (VMware ESX's page-sharing metadata is 16 bytes too):
 * what the frame holds and for whom, and the links of sharing's hash
 * table.  What the fields mean depends on the state:
 *
 *            gfn            owner        refcount/checksum   link
 *   FREE     -              0            -                   free list
 *   PRIVATE  the guest page VM id + 1    content hash at     sharing's hash
 *                                        its last scan, or   chain (hashed)
 *                                        its clean swap slot
 *                                        (swapcopy)
 *   SHARED   content hash   group + 1    guest pages mapping sharing's hash
 *                                        it                  chain (hashed)
 *   STALE    -              VM id + 1    -                   the VM's list of
 *                                                            frames waiting
 *                                                            for a flush
 */
struct frame_meta {
	u64 gfn : 40;
	u64 owner : 8;
	u64 state : 4;		/* enum frame_state */
	u64 hashed : 1;		/* on a chain of sharing's table (mm/share.c) */
	u64 scanned : 1;	/* PRIVATE: checksum is valid */
	u64 walked : 1;		/* PRIVATE: the guest's page-table walk broke
				   its sharing once: the scanner skips it */
	u64 swapcopy : 1;	/* PRIVATE: a swap slot (in checksum) still
				   holds these bytes (mm/swap.c) */
	u64 reserved : 8;
	union {
		u32 refcount;	/* SHARED */
		u32 checksum;	/* PRIVATE */
	};
	u32 link;		/* next frame (index + 1) in a list; 0 = end */
};

#define POOL_OWNER_MAX 254

struct pool_stats {
	u64 frames, free, high_water;
	u64 allocs, frees, failures;
};

struct pool {
	u64 base;		/* physical address of frame 0 */
	u64 nframes;
	struct frame_meta *meta;
	u32 free_head;		/* index + 1; 0 = empty */
	struct pool_stats st;
};

/* meta has room for nframes records; every frame starts free. */
void pool_init(struct pool *p, u64 base, u64 nframes, struct frame_meta *meta);

/* A frame for guest page gfn of VM owner (0..253): its address, or 0. */
u64 pool_alloc(struct pool *p, unsigned owner, u64 gfn);

/* Returns a frame; 0, or -1 if hpa is not an allocated pool frame. */
int pool_free(struct pool *p, u64 hpa);

/* The record of the frame at hpa, or NULL if it is not in the pool. */
struct frame_meta *pool_meta(struct pool *p, u64 hpa);

static inline u64 pool_used(const struct pool *p)
{
	return p->st.frames - p->st.free;
}

#endif
