/*
 * pool.c - the frames guest memory comes from.
 *
 * The pool is one contiguous run of host frames reserved at boot, so a
 * frame's record is found by arithmetic: meta[(hpa - base) / 4096].  Free
 * frames form a LIFO list through their records' link field, so alloc and
 * free are O(1) and need no memory of their own.  Its size is set on the
 * command line and may be smaller than the sum of the VMs' RAM: that is
 * the overcommit the reclaim mechanisms (ballooning, sharing, swapping)
 * make good on.
 *
 * Invariant: every frame is either FRAME_FREE and on the free list exactly
 * once, or in use and not on the free list (a FRAME_STALE one is on its
 * VM's list of frames waiting for a TLB flush, mm/gmem.c); st.free counts
 * the free list.
 */
#include "pool.h"

_Static_assert(sizeof(struct frame_meta) == 16,
	       "frame metadata must stay at 16 bytes per frame");

void pool_init(struct pool *p, u64 base, u64 nframes, struct frame_meta *meta)
{
	*p = (struct pool){ .base = base, .nframes = nframes, .meta = meta };
	/* Build the list so that the lowest frames are handed out first. */
	for (u64 i = nframes; i-- > 0;) {
		meta[i] = (struct frame_meta){ .state = FRAME_FREE,
					       .link = p->free_head };
		p->free_head = (u32)(i + 1);
	}
	p->st.frames = p->st.free = nframes;
}

u64 pool_alloc(struct pool *p, unsigned owner, u64 gfn)
{
	if (!p->free_head || owner > POOL_OWNER_MAX) {
		p->st.failures++;
		return 0;
	}
	u64 i = p->free_head - 1;
	struct frame_meta *m = &p->meta[i];

	p->free_head = m->link;
	*m = (struct frame_meta){ .gfn = gfn, .owner = owner + 1,
				  .state = FRAME_PRIVATE };
	p->st.free--;
	p->st.allocs++;
	if (pool_used(p) > p->st.high_water)
		p->st.high_water = pool_used(p);
	return p->base + i * PAGE_SIZE;
}

struct frame_meta *pool_meta(struct pool *p, u64 hpa)
{
	if (hpa < p->base || hpa % PAGE_SIZE ||
	    (hpa - p->base) / PAGE_SIZE >= p->nframes)
		return NULL;
	return &p->meta[(hpa - p->base) / PAGE_SIZE];
}

int pool_free(struct pool *p, u64 hpa)
{
	struct frame_meta *m = pool_meta(p, hpa);

	if (!m || m->state == FRAME_FREE)
		return -1;
	*m = (struct frame_meta){ .state = FRAME_FREE, .link = p->free_head };
	p->free_head = (u32)((hpa - p->base) / PAGE_SIZE + 1);
	p->st.free++;
	p->st.frees++;
	return 0;
}
