/*
 * gmem.c - guest-physical memory of one VM: every p2m transition, with the
 * pool frame and the SLAT leaf that go with it.
 *
 *   p2m (the truth)  --derives-->  SLAT leaves (a cache, may be dropped)
 *        |
 *        +-- PRIVATE: one pool frame, whose record names (VM, gfn)
 *        +-- SHARED: a read-only frame with a reference count, or the
 *        |           zero frame (mm/share.c)
 *        +-- SWAPPED: its bytes in a swap slot (mm/swap.c)
 *        +-- UNPOPULATED, BALLOONED: no frame; read as zeros
 *
 * Transitions made here (design.md, Overcommit):
 *   UNPOPULATED -> PRIVATE    first touch (gmem_fault) or a hv write
 *   BALLOONED   -> PRIVATE    the same, counted as a touched balloon page
 *   SHARED      -> PRIVATE    a write, by the guest or the hv: a copy
 *                             (copy-on-write), or in place when this page
 *                             holds the frame's last reference
 *   SWAPPED     -> PRIVATE    a touch, by the guest or the hv: swap-in
 *   PRIVATE     -> BALLOONED  inflate (gmem_release); SHARED, SWAPPED too
 *   BALLOONED   -> UNPOPULATED deflate (gmem_release)
 *   any         -> gone       teardown (gmem_destroy)
 * (PRIVATE -> SHARED is the scanner's, in mm/share.c; PRIVATE -> SWAPPED
 * and PRIVATE -> UNPOPULATED the swap clock's, in mm/swap.c.)
 *
 * The TLB rule is a mechanism, not a habit of the callers: removing a leaf
 * makes the SLAT owe a flush (mm/slat.c), and a frame released while a
 * flush is owed waits on g->stale until gmem_settle() has paid it.  So no
 * frame reaches the pool again while a stale translation could reach it.
 */
#include "gmem.h"
#include "../hv/bench.h"
#include "share.h"
#include "swap.h"

static void *frame_ptr(struct gmem *g, u64 hpa)
{
	return g->slat.env.ptr(g->slat.env.ctx, hpa);
}

int gmem_init(struct gmem *g, unsigned id, u64 npages, u64 *p2m_storage,
	      struct pool *pool, const struct slat_format *fmt,
	      const struct slat_env *env)
{
	*g = (struct gmem){ .id = id, .npages = npages, .pool = pool };
	g->share = NULL;	/* until share_attach() */
	g->swap = NULL;		/* until swap_attach() */
	p2m_init(&g->p2m, p2m_storage, npages);
	return slat_init(&g->slat, fmt, env);
}

/* --- frames --------------------------------------------------------------- */

/* Hands a private frame back: at once if no translation to it can
 * survive, else onto the stale list until the flush. */
void gmem_frame_put(struct gmem *g, u64 hpa)
{
	struct frame_meta *m = pool_meta(g->pool, hpa);

	if (!m || m->state != FRAME_PRIVATE)
		panic("gmem: vm id %u releases 0x%llx, which is not a private "
		      "pool frame", g->id, (unsigned long long)hpa);
	if (m->hashed)
		share_unhash(g->share, hpa);	/* its link is needed */
	if (m->swapcopy) {
		swap_slot_free(g->swap, m->checksum);	/* a copy of nothing */
		m->swapcopy = 0;
	}
	if (!g->slat.flush_owed) {
		pool_free(g->pool, hpa);
		return;
	}
	m->state = FRAME_STALE;
	m->link = g->stale;
	g->stale = (u32)((hpa - g->pool->base) / PAGE_SIZE + 1);
	g->nstale++;
	g->st.deferred++;
}

void gmem_settle(struct gmem *g)
{
	if (!g->slat.flush_owed && !g->stale)
		return;
	slat_flush(&g->slat);	/* stale frames are safe once it is paid */
	while (g->stale) {
		u64 i = g->stale - 1;
		g->stale = g->pool->meta[i].link;
		pool_free(g->pool, g->pool->base + i * PAGE_SIZE);
		g->nstale--;
	}
}

/* Makes frames free when the pool is empty: our own stale frames first,
 * then sharing's reclaim.  True if the pool has `need` free frames. */
static bool reclaim(struct gmem *g, u64 need)
{
	if (g->pool->st.free >= need)
		return true;
	gmem_settle(g);
	if (g->pool->st.free < need && g->share)
		share_reclaim(g->share);
	if (g->pool->st.free < need && swap_on(g->swap))
		swap_reclaim(g->swap, need);
	return g->pool->st.free >= need;
}

/* A pool frame for gfn of this VM; 0 if there is none even after
 * reclaim. */
static u64 take_frame(struct gmem *g, u64 gfn)
{
	u64 hpa = pool_alloc(g->pool, g->id, gfn);

	if (!hpa) {
		u64 t0 = bench_now();
		bool got = reclaim(g, 1);
		bench_exit_reclaimed(bench_now() - t0);
		if (got)
			hpa = pool_alloc(g->pool, g->id, gfn);
	}
	return hpa;
}

static void note_resident(struct gmem *g)
{
	g->st.resident_max = MAX(g->st.resident_max,
				 g->p2m.count[P2M_PRIVATE] +
					 g->p2m.count[P2M_SHARED]);
}

/* A zeroed frame for gfn, now PRIVATE; 0 if there is none. */
static u64 populate(struct gmem *g, u64 gfn, enum gmem_by by)
{
	u64 hpa = take_frame(g, gfn);

	if (!hpa)
		return 0;
	u64 t0 = bench_now();
	__builtin_memset(frame_ptr(g, hpa), 0, PAGE_SIZE);
	bench_exit_zeroed(bench_now() - t0);
	if (p2m_state(&g->p2m, gfn) == P2M_BALLOONED)
		g->st.balloon_touched++;	/* guest ABI: comes back zero */
	p2m_set(&g->p2m, gfn, P2M_PRIVATE, hpa);
	note_resident(g);
	if (by == GMEM_BY_LOADER)
		g->st.loaded++;
	else if (by == GMEM_BY_GUEST)
		g->st.populated_slat++;
	else
		g->st.populated_hv++;
	return hpa;
}

/* Does a write to the shared page gfn need a new frame?  Not when the page
 * holds the frame's last reference. */
static bool cow_needs_frame(struct gmem *g, u64 gfn)
{
	u64 hpa = p2m_value(&g->p2m, gfn);

	return hpa == g->share->zero_hpa ||
	       pool_meta(g->pool, hpa)->refcount > 1;
}

/*
 * A write to the shared page gfn: copy-on-write.  The page gets a frame of
 * its own with the shared bytes, or keeps the frame when it holds the last
 * reference.  The old read-only leaf is removed and flushed before the
 * reference is dropped (mm/share.c's rule).  The page's frame, or 0 if the
 * pool is empty (then nothing changed).
 */
static u64 cow_break(struct gmem *g, u64 gfn, bool walk, bool by_guest)
{
	struct share *s = g->share;
	u64 old = p2m_value(&g->p2m, gfn), hpa;

	if (!cow_needs_frame(g, gfn)) {
		struct frame_meta *m = pool_meta(g->pool, old);
		/* The read-only leaf goes too: a PRIVATE page's leaf grants
		 * everything (a hv write would otherwise leave the guest a
		 * permission fault on a private page, a stop), and a TLB may
		 * hold the read-only translation: the removal owes the flush
		 * that clears it. */
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
		share_unhash(s, old);
		*m = (struct frame_meta){ .gfn = gfn, .owner = g->id + 1,
					  .state = FRAME_PRIVATE };
		s->st.frames_shared--;
		s->st.cow_in_place++;
		hpa = old;
		if (by_guest)
			bench_exit_is(BENCH_SLAT_COW_LAST, 1);
	} else {
		hpa = take_frame(g, gfn);
		if (!hpa)
			return 0;
		if (old == s->zero_hpa)
			__builtin_memset(frame_ptr(g, hpa), 0, PAGE_SIZE);
		else
			__builtin_memcpy(frame_ptr(g, hpa), frame_ptr(g, old),
					 PAGE_SIZE);
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
		gmem_settle(g);
		share_put(s, old);
		if (by_guest)
			bench_exit_is(BENCH_SLAT_COW, 1);
	}
	p2m_set(&g->p2m, gfn, P2M_PRIVATE, hpa);
	note_resident(g);
	s->st.cow_breaks++;
	g->st.cow_breaks++;
	if (by_guest && !walk)
		g->st.cow_guest++;
	if (walk) {
		/* The guest uses this page as a page table: its walk sets
		 * accessed bits, which are writes.  Merging it again would
		 * only break again: the scanner leaves it alone. */
		pool_meta(g->pool, hpa)->walked = 1;
		s->st.cow_page_walks++;
		g->st.cow_page_walks++;
	}
	return hpa;
}

/*
 * A swapped page comes back: a frame (reclaim may take other pages, never
 * this one: it is not resident), its bytes from the slot.  After a write
 * the slot is freed; after a read it stays as a clean copy (swapcopy) and
 * the page is mapped read-only, so the first write frees it.  The frame,
 * or 0 if the pool is empty (nothing changed).
 */
static u64 swap_in(struct gmem *g, u64 gfn, bool write)
{
	u64 slot = p2m_value(&g->p2m, gfn) >> PAGE_SHIFT;
	u64 hpa = take_frame(g, gfn);

	if (!hpa)
		return 0;
	swap_read(g->swap, slot, frame_ptr(g, hpa));
	p2m_set(&g->p2m, gfn, P2M_PRIVATE, hpa);
	note_resident(g);
	if (write) {
		swap_slot_free(g->swap, slot);
	} else {
		struct frame_meta *m = pool_meta(g->pool, hpa);
		m->swapcopy = 1;
		m->checksum = (u32)slot;
	}
	g->st.swapped_in++;
	g->swap->st.swap_ins++;
	return hpa;
}

/* The page is written: its clean swap copy is worth nothing now.  unmap:
 * its read-only leaf goes too (a TLB may hold it; the flush is owed). */
static void drop_swap_copy(struct gmem *g, u64 gfn, bool unmap)
{
	struct frame_meta *m = pool_meta(g->pool, p2m_value(&g->p2m, gfn));

	swap_slot_free(g->swap, m->checksum);
	m->swapcopy = 0;
	m->scanned = 0;		/* checksum held the slot, not a hash */
	if (unmap)
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
}

void gmem_drop_swap_copy(struct gmem *g, u64 gfn)
{
	drop_swap_copy(g, gfn, true);
}

/* A private page's leaf rights: all, or read and execute while its clean
 * swap copy is kept (the first write must be seen). */
static unsigned private_perms(struct gmem *g, u64 gfn)
{
	return pool_meta(g->pool, p2m_value(&g->p2m, gfn))->swapcopy
		       ? SLAT_R | SLAT_X
		       : SLAT_RWX;
}

/* --- the guest's accesses ------------------------------------------------- */

enum gmem_verdict gmem_fault(struct gmem *g, u64 gfn, unsigned access,
			     bool present, struct gmem_answer *answer)
{
	enum p2m_state st = p2m_state(&g->p2m, gfn);

	switch (st) {
	case P2M_PRIVATE:
		/* Our PRIVATE leaves grant everything but while a clean swap
		 * copy is kept: any other permission fault on one is a bug,
		 * and mapping it again would loop. */
		if (present &&
		    (!(access & GMEM_WRITE) ||
		     !pool_meta(g->pool, p2m_value(&g->p2m, gfn))->swapcopy))
			return GMEM_BAD_FAULT;
		if (!present && p2m_flag(&g->p2m, gfn, P2M_MAPPED)) {
			g->st.rebuilds++;	/* dropped SLAT, kept data */
			bench_exit_is(BENCH_SLAT_REBUILD, 1);
		}
		/* A write ends a clean copy, whether its read-only leaf was
		 * there (a permission fault) or not (dropped, or never built
		 * since the swap-in): mapped writable below, in one exit. */
		if ((access & GMEM_WRITE) &&
		    pool_meta(g->pool, p2m_value(&g->p2m, gfn))->swapcopy)
			drop_swap_copy(g, gfn, false);
		break;
	case P2M_UNPOPULATED:
	case P2M_BALLOONED:
		if (present)
			return GMEM_BAD_FAULT;	/* no leaf can exist */
		if (!populate(g, gfn, GMEM_BY_GUEST))
			return GMEM_NO_FRAME;
		bench_exit_is(BENCH_SLAT_POPULATE, 1);
		break;
	case P2M_SHARED:
		if (access & GMEM_WRITE) {
			if (!cow_break(g, gfn, access & GMEM_WALK, true))
				return GMEM_NO_FRAME;
			break;
		}
		if (present)
			return GMEM_BAD_FAULT;	/* the leaf grants reads */
		bench_exit_is(BENCH_SLAT_SHARED_READ, 1);
		*answer = (struct gmem_answer){ p2m_value(&g->p2m, gfn),
						SLAT_R | SLAT_X };
		return GMEM_MAP;
	case P2M_SWAPPED:
		if (present)
			return GMEM_BAD_FAULT;	/* no leaf can exist */
		if (!swap_in(g, gfn, access & GMEM_WRITE))
			return GMEM_NO_FRAME;
		bench_exit_is(BENCH_SLAT_SWAP_IN, 1);
		break;
	default:
		panic("gmem_fault: gfn 0x%llx in state %d",
		      (unsigned long long)gfn, (int)st);
	}
	*answer = (struct gmem_answer){ p2m_value(&g->p2m, gfn),
					private_perms(g, gfn) };
	return GMEM_MAP;
}

int gmem_map(struct gmem *g, u64 gfn, const struct gmem_answer *answer)
{
	if (slat_map(&g->slat, gfn * PAGE_SIZE, answer->hpa, answer->perms) < 0)
		return -1;
	p2m_set_flag(&g->p2m, gfn, P2M_MAPPED);
	g->st.maps++;
	return 0;
}

/* --- the hypervisor's accesses -------------------------------------------- */

int gmem_read(struct gmem *g, u64 gpa, void *dst, u64 len)
{
	u8 *d = dst;

	if (!gmem_in_ram(g, gpa, len))
		return -1;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - gpa % PAGE_SIZE);
		u64 gfn = gpa / PAGE_SIZE;
		switch (p2m_state(&g->p2m, gfn)) {
		case P2M_PRIVATE:
		case P2M_SHARED:
			__builtin_memcpy(d, (u8 *)frame_ptr(g, p2m_value(&g->p2m,
						gfn)) + gpa % PAGE_SIZE, chunk);
			break;
		case P2M_UNPOPULATED:
		case P2M_BALLOONED:
			__builtin_memset(d, 0, chunk);
			break;
		case P2M_SWAPPED: {	/* read in place: no swap-in */
			static u8 block[PAGE_SIZE];
			swap_read(g->swap, p2m_value(&g->p2m, gfn) >> PAGE_SHIFT,
				  block);
			__builtin_memcpy(d, block + gpa % PAGE_SIZE, chunk);
			break;
		}
		default:
			panic("gmem_read: gfn 0x%llx in state %d",
			      (unsigned long long)gfn,
			      (int)p2m_state(&g->p2m, gfn));
		}
		d += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Frames a write to [first, last] needs: pages without one, and shared
 * pages that are not down to their last reference. */
static u64 frames_needed(struct gmem *g, u64 first, u64 last)
{
	u64 need = 0;

	for (u64 gfn = first; gfn <= last; gfn++) {
		switch (p2m_state(&g->p2m, gfn)) {
		case P2M_PRIVATE:
			break;
		case P2M_UNPOPULATED:
		case P2M_BALLOONED:
		case P2M_SWAPPED:
			need++;
			break;
		case P2M_SHARED:	/* never written in place */
			need += cow_needs_frame(g, gfn);
			break;
		default:
			panic("gmem_write: gfn 0x%llx in state %d",
			      (unsigned long long)gfn,
			      (int)p2m_state(&g->p2m, gfn));
		}
	}
	return need;
}

int gmem_write(struct gmem *g, u64 gpa, const void *src, u64 len,
	       enum gmem_by by)
{
	const u8 *s = src;
	u64 first = gpa / PAGE_SIZE;

	if (!gmem_in_ram(g, gpa, len))
		return -1;
	if (!len)
		return 0;
	u64 last = (gpa + len - 1) / PAGE_SIZE;

	/* First make sure every page can take the bytes, so that a failure
	 * leaves nothing half written.  Reclaim may merge pages of the range,
	 * so count again after it. */
	if (!reclaim(g, frames_needed(g, first, last)) ||
	    g->pool->st.free < frames_needed(g, first, last))
		return -1;
	for (u64 gfn = first; gfn <= last; gfn++) {
		enum p2m_state st = p2m_state(&g->p2m, gfn);
		u64 hpa = 1;
		if (st == P2M_PRIVATE) {
			if (pool_meta(g->pool, p2m_value(&g->p2m, gfn))->swapcopy)
				drop_swap_copy(g, gfn, true);
			continue;
		}
		if (st == P2M_SHARED)
			hpa = cow_break(g, gfn, false, false);
		else if (st == P2M_SWAPPED)
			hpa = swap_in(g, gfn, true);
		else
			hpa = populate(g, gfn, by);
		if (!hpa)
			panic("gmem_write: the pool lost a frame it counted");
	}
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - gpa % PAGE_SIZE);
		__builtin_memcpy((u8 *)frame_ptr(g, p2m_value(&g->p2m,
						gpa / PAGE_SIZE)) +
					 gpa % PAGE_SIZE, s, chunk);
		s += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* --- giving pages up ------------------------------------------------------ */

void gmem_release(struct gmem *g, u64 gfn, enum p2m_state to)
{
	if (to != P2M_BALLOONED && to != P2M_UNPOPULATED)
		panic("gmem_release: gfn 0x%llx to state %s",
		      (unsigned long long)gfn, p2m_state_name(to));
	switch (p2m_state(&g->p2m, gfn)) {
	case P2M_PRIVATE:
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
		gmem_frame_put(g, p2m_value(&g->p2m, gfn));
		if (to == P2M_BALLOONED)
			g->st.balloon_freed++;
		break;
	case P2M_UNPOPULATED:
	case P2M_BALLOONED:
		break;		/* nothing backs it */
	case P2M_SHARED: {
		u64 hpa = p2m_value(&g->p2m, gfn);
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
		gmem_settle(g);	/* before the reference goes */
		p2m_set(&g->p2m, gfn, to, 0);
		share_put(g->share, hpa);
		return;
	}
	case P2M_SWAPPED:
		swap_slot_free(g->swap, p2m_value(&g->p2m, gfn) >> PAGE_SHIFT);
		break;
	default:
		panic("gmem_release: gfn 0x%llx in state %d",
		      (unsigned long long)gfn, (int)p2m_state(&g->p2m, gfn));
	}
	p2m_set(&g->p2m, gfn, to, 0);
}

void gmem_destroy(struct gmem *g)
{
	if (!g->p2m.entries)
		return;
	/* The whole tree first (one walk instead of a lookup per page) and
	 * one flush for all of it; then every page goes, frames at once and
	 * shared references with nothing left to flush. */
	if (g->slat.root)
		slat_drop(&g->slat, 0, 512 * GiB);
	gmem_settle(g);
	for (u64 gfn = 0; gfn < g->npages; gfn++)
		gmem_release(g, gfn, P2M_UNPOPULATED);
	slat_destroy(&g->slat);
	gmem_settle(g);
	if (g->share)
		share_detach(g->share, g);
	if (g->swap)
		swap_detach(g->swap, g);
	g->p2m.entries = NULL;
}

/* --- the self-check ------------------------------------------------------- */

struct check_ctx {
	struct gmem *g;
	gmem_report_fn *report;
	void *rctx;
	u64 leaves, differences;
};

static void check_leaf(void *arg, u64 gpa, u64 entry)
{
	struct check_ctx *c = arg;
	struct gmem *g = c->g;
	const struct slat_format *f = g->slat.fmt;
	u64 gfn = gpa / PAGE_SIZE;

	c->leaves++;
	if (gfn >= g->npages) {
		c->report(c->rctx, "self-check: %s maps GPA 0x%llx beyond RAM",
			  f->name, (unsigned long long)gpa);
		c->differences++;
		return;
	}
	enum p2m_state st = p2m_state(&g->p2m, gfn);
	unsigned want = st == P2M_PRIVATE  ? private_perms(g, gfn)
			: st == P2M_SHARED ? SLAT_R | SLAT_X
					   : 0;
	if (!want || f->address(entry) != p2m_value(&g->p2m, gfn) ||
	    f->perms(entry) != want) {
		c->report(c->rctx, "self-check: GPA 0x%llx: %s entry 0x%llx, "
			  "p2m says %s 0x%llx", (unsigned long long)gpa,
			  f->name, (unsigned long long)entry,
			  p2m_state_name(st),
			  (unsigned long long)p2m_value(&g->p2m, gfn));
		c->differences++;
	}
}

u64 gmem_check(struct gmem *g, gmem_report_fn *report, void *ctx)
{
	struct check_ctx c = { g, report, ctx, 0, 0 };
	u64 count[P2M_STATE_COUNT] = { 0 };

	for (u64 gfn = 0; gfn < g->npages; gfn++) {
		enum p2m_state st = p2m_state(&g->p2m, gfn);
		count[st < P2M_STATE_COUNT ? st : 0]++;
		if (p2m_marked(&g->p2m, gfn)) {
			report(ctx, "self-check: gfn 0x%llx still marked",
			       (unsigned long long)gfn);
			c.differences++;
		}
		u64 hpa = p2m_value(&g->p2m, gfn);
		struct frame_meta *m = pool_meta(g->pool, hpa);
		if (st == P2M_SHARED &&
		    !(g->share && hpa == g->share->zero_hpa) &&
		    (!m || m->state != FRAME_SHARED)) {
			report(ctx, "self-check: gfn 0x%llx is shared to 0x%llx, "
			       "which is not a shared frame",
			       (unsigned long long)gfn, (unsigned long long)hpa);
			c.differences++;
		}
		if (st != P2M_PRIVATE)
			continue;
		if (!m || m->state != FRAME_PRIVATE ||
		    m->owner != (u64)g->id + 1 || m->gfn != gfn) {
			report(ctx, "self-check: gfn 0x%llx -> frame 0x%llx, but "
			       "the pool says owner %d gfn 0x%llx state %d",
			       (unsigned long long)gfn, (unsigned long long)hpa,
			       m ? (int)m->owner - 1 : -1,
			       m ? (unsigned long long)m->gfn : 0ull,
			       m ? (int)m->state : -1);
			c.differences++;
		}
	}
	for (int s = 0; s < P2M_STATE_COUNT; s++)
		if (count[s] != g->p2m.count[s]) {
			report(ctx, "self-check: %llu %s pages, counter says %llu",
			       (unsigned long long)count[s], p2m_state_name(s),
			       (unsigned long long)g->p2m.count[s]);
			c.differences++;
		}

	slat_for_each_leaf(&g->slat, check_leaf, &c);
	if (c.leaves != g->slat.leaves) {
		report(ctx, "self-check: walked %llu leaves, counter says %llu",
		       (unsigned long long)c.leaves,
		       (unsigned long long)g->slat.leaves);
		c.differences++;
	}
	return c.differences;
}
