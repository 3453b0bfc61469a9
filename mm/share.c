/*
 * share.c - content-based page sharing with copy-on-write.
 *
 * The mechanism (after VMware ESX's page sharing and Linux's KSM):
 *
 * A scanner runs between guest slices with a budget of pages per round.
 * It walks the PRIVATE pages of every VM in turn and hashes each page's
 * bytes with XXH3.  A page whose hash differs from the one it had at its
 * previous scan is volatile: it is only remembered, never merged, so pages
 * that are written all the time do not merge and break again and again
 * (KSM's checksum rule).  A page whose hash is unchanged is a candidate:
 * it is looked up in one hash table keyed by content hash, whose chains
 * run through the frames' metadata (`link`; no allocation per page):
 *
 *   - an all-zero page is mapped to the zero frame, which the hypervisor
 *     owns, never frees and never writes;
 *   - a SHARED frame with the same hash and the same bytes (compared in
 *     full: a hash is only a hint) takes the page as one more reference;
 *   - a PRIVATE candidate with the same hash and bytes becomes SHARED with
 *     both pages as its references;
 *   - otherwise the page waits in the table as a candidate.
 *
 * A page the guest uses as a page table is written by its own walks (the
 * CPU sets accessed bits, and under EPT A/D and QEMU's NPT even reads the
 * guest's tables as writes), so merging it breaks again at once.  The
 * first copy-on-write break that a walk causes marks the page's new frame
 * (`walked`), and the scanner skips it from then on.
 *
 * Merging turns the page's p2m entry into SHARED, takes write permission
 * away in the SLAT leaves (a present leaf is remapped read-only, so reads
 * go on without a fault), and releases the duplicate frame through
 * mm/gmem.c, which holds it until the flush the change owes.  At the end of
 * the round every VM whose mappings changed is settled: its translations
 * are flushed, and only then do the duplicate frames reach the pool.
 *
 * A guest write to a SHARED page is a SLAT write violation, answered in
 * mm/gmem.c: a copy into a new frame (copy-on-write), or, when the frame
 * has only this reference left, the page simply becomes PRIVATE again.
 * Pages merge only between VMs of the same sharing group (a write to a
 * shared page takes measurably longer, which tells one VM what another
 * holds), and always within one VM.
 *
 * Invariants (share_check(), with mm/gmem.c's gmem_check()):
 *   - a FRAME_SHARED frame's refcount is the number of SHARED p2m entries,
 *     of all VMs, that point to it; it is on the chain of its hash;
 *   - SHARED leaves are read-only; the zero frame is never written;
 *   - a VM's reference to a shared frame is dropped only after that VM's
 *     translations were flushed, so no stale translation reaches a shared
 *     frame that is freed, or that becomes one VM's private page again.
 *
 * Everything here runs on one CPU between guest slices; no guest runs
 * while a page is compared and merged, so the bytes compared are the
 * bytes shared.
 */
#include "share.h"
#include "gmem.h"
#include "../hv/bench.h"

#define XXH_INLINE_ALL
#define XXH_VECTOR 0		/* XXH_SCALAR: the hypervisor uses no SSE */
/* Unaligned 8-byte loads as plain loads (x86 allows them): the default,
 * memcpy(), is a real call under -fno-builtin, one per eight bytes hashed
 * (make bench measured 22557 instructions a page that way, 7454 this). */
#define XXH_FORCE_MEMORY_ACCESS 1
#include <xxhash.h>

u64 share_page_hash(const void *page)
{
	return XXH3_64bits(page, PAGE_SIZE);
}

static void *bytes(const struct share *s, u64 hpa)
{
	return s->ptr(s->ctx, hpa);
}

static u32 index_of(const struct share *s, u64 hpa)
{
	return (u32)((hpa - s->pool->base) / PAGE_SIZE);
}

static bool is_zero(const u64 *p)
{
	for (u64 i = 0; i < PAGE_SIZE / 8; i++)
		if (p[i])
			return false;
	return true;
}

void share_init(struct share *s, bool on, struct pool *pool,
		void *(*ptr)(void *ctx, u64 hpa), void *ctx, u32 *buckets,
		u64 nbuckets, u64 zero_hpa)
{
	*s = (struct share){ .on = on, .pool = pool, .ptr = ptr, .ctx = ctx,
			     .hash = share_page_hash, .buckets = buckets,
			     .nbuckets = nbuckets, .zero_hpa = zero_hpa };
	if (nbuckets & (nbuckets - 1))
		panic("share_init: %llu buckets is not a power of two",
		      (unsigned long long)nbuckets);
	for (u64 i = 0; i < nbuckets; i++)
		buckets[i] = 0;
	s->zero_hash = (u32)s->hash(bytes(s, zero_hpa));
}

void share_attach(struct share *s, struct gmem *g, unsigned group)
{
	if (g->id >= SHARE_VMS || group > SHARE_GROUP_MAX)
		panic("share_attach: vm id %u, group %u", g->id, group);
	s->vm[g->id] = g;
	s->group[g->id] = (u8)group;
	g->share = s;
}

void share_detach(struct share *s, struct gmem *g)
{
	if (g->id < SHARE_VMS && s->vm[g->id] == g)
		s->vm[g->id] = NULL;
}

/* --- the hash table ------------------------------------------------------- */

/* The hash a frame is chained under. */
static u32 chain_hash(const struct frame_meta *m)
{
	return m->state == FRAME_SHARED ? (u32)m->gfn : m->checksum;
}

static u32 *bucket(struct share *s, u32 hash)
{
	return &s->buckets[hash & (s->nbuckets - 1)];
}

static void hash_insert(struct share *s, u64 hpa)
{
	struct frame_meta *m = pool_meta(s->pool, hpa);
	u32 *b = bucket(s, chain_hash(m));

	m->link = *b;
	*b = index_of(s, hpa) + 1;
	m->hashed = 1;
}

void share_unhash(struct share *s, u64 hpa)
{
	struct frame_meta *m = pool_meta(s->pool, hpa);
	u32 want = index_of(s, hpa) + 1;

	if (!m->hashed)
		return;
	for (u32 *p = bucket(s, chain_hash(m)); *p;
	     p = &s->pool->meta[*p - 1].link) {
		if (*p == want) {
			*p = m->link;
			m->link = 0;
			m->hashed = 0;
			return;
		}
	}
	panic("share_unhash: frame 0x%llx is marked hashed but is not on the "
	      "chain of its hash 0x%x", (unsigned long long)hpa,
	      chain_hash(m));
}

/* --- references ----------------------------------------------------------- */

void share_put(struct share *s, u64 hpa)
{
	if (hpa == s->zero_hpa) {
		if (!s->zero_refs)
			panic("share_put: the zero frame has no reference");
		s->zero_refs--;
		return;
	}
	struct frame_meta *m = pool_meta(s->pool, hpa);
	if (!m || m->state != FRAME_SHARED || !m->refcount)
		panic("share_put: 0x%llx is not a referenced shared frame",
		      (unsigned long long)hpa);
	if (--m->refcount)
		return;
	/* Every page that mapped it has been unmapped and flushed. */
	share_unhash(s, hpa);
	s->st.frames_shared--;
	pool_free(s->pool, hpa);
}

/* --- merging -------------------------------------------------------------- */

/* The page gfn of g now maps the shared frame hpa: its leaf, if it has
 * one, becomes a read-only mapping of hpa (a flush is then owed). */
static void map_shared(struct gmem *g, u64 gfn, u64 hpa)
{
	u64 e;

	p2m_set(&g->p2m, gfn, P2M_SHARED, hpa);
	g->st.shared_max = MAX(g->st.shared_max, g->p2m.count[P2M_SHARED]);
	if (slat_lookup(&g->slat, gfn * PAGE_SIZE, &e))
		slat_map(&g->slat, gfn * PAGE_SIZE, hpa, SLAT_R | SLAT_X);
}

/* Page gfn of g (private frame own) joins the shared frame hpa. */
static void join(struct share *s, struct gmem *g, u64 gfn, u64 own, u64 hpa,
		 unsigned *touched)
{
	if (hpa == s->zero_hpa) {
		s->zero_refs++;
		s->st.zero_merges++;
		g->st.zero_merges++;
	} else {
		pool_meta(s->pool, hpa)->refcount++;
	}
	map_shared(g, gfn, hpa);
	gmem_frame_put(g, own);		/* held until the flush */
	s->st.merges++;
	s->st.frames_freed++;
	*touched |= 1u << g->id;
}

/* The private candidate at hpa (of VM owner, page gfn) becomes a shared
 * frame with that page as its one reference. */
static void promote(struct share *s, u64 hpa, unsigned *touched)
{
	struct frame_meta *m = pool_meta(s->pool, hpa);
	struct gmem *owner = s->vm[m->owner - 1];
	u64 gfn = m->gfn;
	u32 hash = m->checksum;

	share_unhash(s, hpa);
	*m = (struct frame_meta){ .gfn = hash,
				  .owner = s->group[owner->id] + 1u,
				  .state = FRAME_SHARED, .refcount = 1 };
	hash_insert(s, hpa);
	map_shared(owner, gfn, hpa);
	s->st.frames_shared++;
	*touched |= 1u << owner->id;
}

/* May pages of VM a and VM b share a frame? */
static bool same_group(const struct share *s, unsigned a, unsigned b)
{
	return s->group[a] == s->group[b];
}

/* One private page: hash it, and merge it if it is stable and has a
 * twin. */
static void scan_page(struct share *s, struct gmem *g, u64 gfn,
		      bool urgent, unsigned *touched)
{
	u64 hpa = p2m_value(&g->p2m, gfn);
	struct frame_meta *m = pool_meta(s->pool, hpa);
	const void *page = bytes(s, hpa);

	if (m->walked) {
		s->st.skipped_page_tables++;
		return;
	}
	if (m->swapcopy)
		return;	/* checksum holds its swap slot; cold anyway */
	u32 h = (u32)s->hash(page);
	s->st.scanned++;
	if (!m->scanned || m->checksum != h) {
		if (m->scanned)
			s->st.volatile_pages++;
		share_unhash(s, hpa);	/* chained under the old hash */
		m->checksum = h;
		m->scanned = 1;
		if (!urgent)
			return;
	}
	if (h == s->zero_hash && is_zero(page)) {
		share_unhash(s, hpa);
		join(s, g, gfn, hpa, s->zero_hpa, touched);
		return;
	}
	for (u32 i = *bucket(s, h); i; i = s->pool->meta[i - 1].link) {
		u64 other = s->pool->base + (u64)(i - 1) * PAGE_SIZE;
		struct frame_meta *o = &s->pool->meta[i - 1];
		if (other == hpa)
			continue;
		if (o->state == FRAME_SHARED) {
			if ((u32)o->gfn != h ||
			    o->owner != s->group[g->id] + 1u)
				continue;
		} else if (o->checksum != h ||
			   !same_group(s, o->owner - 1, g->id)) {
			continue;
		}
		if (__builtin_memcmp(bytes(s, other), page, PAGE_SIZE)) {
			/* A candidate written since its scan is merely out of
			 * date; anything else is a true hash collision. */
			if (o->state == FRAME_SHARED ||
			    (u32)s->hash(bytes(s, other)) == h)
				s->st.collisions++;
			else
				s->st.stale_candidates++;
			continue;
		}
		if (o->state != FRAME_SHARED)
			promote(s, other, touched);
		share_unhash(s, hpa);
		join(s, g, gfn, hpa, other, touched);
		return;
	}
	if (!m->hashed)
		hash_insert(s, hpa);
}

/* The next attached VM after index i, or -1 if none is attached. */
static int next_vm(const struct share *s, int i)
{
	for (int k = 1; k <= SHARE_VMS; k++) {
		int j = (i + k) % SHARE_VMS;
		if (s->vm[j])
			return j;
	}
	return -1;
}

/* A round over up to budget private pages; urgent: merge what is equal
 * now, without waiting for a second scan. */
static u64 scan_round(struct share *s, u64 budget, bool urgent)
{
	unsigned touched = 0;
	u64 hashed = 0, visited = 0, limit = 0;

	for (int i = 0; i < SHARE_VMS; i++)
		if (s->vm[i])
			limit += s->vm[i]->npages;
	bench_scan_begin();
	/* At most one pass over every page per round, hashed or not. */
	while (hashed < budget && visited < limit) {
		struct gmem *g = s->cursor_vm >= 0 && s->cursor_vm < SHARE_VMS
					 ? s->vm[s->cursor_vm]
					 : NULL;
		if (!g || s->cursor_gfn >= g->npages) {
			int next = next_vm(s, s->cursor_vm);
			if (next < 0)
				break;
			if (next <= s->cursor_vm || !g) {
				s->st.full_scans += g != NULL;
				if (g)
					bench_scan_wrapped(limit);
			}
			s->cursor_vm = next;
			s->cursor_gfn = 0;
			continue;
		}
		u64 gfn = s->cursor_gfn++;
		visited++;
		if (p2m_state(&g->p2m, gfn) != P2M_PRIVATE)
			continue;
		u64 t0 = bench_now(), merges = s->st.merges;
		scan_page(s, g, gfn, urgent, &touched);
		bench_record(s->st.merges != merges ? BENCH_SHARE_MERGE
						    : BENCH_SHARE_SCAN_PAGE,
			     bench_now() - t0);
		hashed++;
	}
	for (int i = 0; i < SHARE_VMS; i++)
		if (touched & (1u << i))
			gmem_settle(s->vm[i]);
	bench_scan_end();
	return hashed;
}

u64 share_scan(struct share *s, u64 budget)
{
	return s->on ? scan_round(s, budget, false) : 0;
}

u64 share_reclaim(struct share *s)
{
	u64 before = s->st.frames_freed;

	if (!s->on)
		return 0;
	s->st.reclaims++;
	scan_round(s, ~0ull, true);
	return s->st.frames_freed - before;
}

/* --- the oracle ----------------------------------------------------------- */

struct oracle_item {
	u64 key;		/* group << 56 | hash bits */
	u64 hpa;
};

u64 share_resident(const struct share *s)
{
	u64 n = 0;

	for (int i = 0; i < SHARE_VMS; i++)
		if (s->vm[i])
			n += s->vm[i]->p2m.count[P2M_PRIVATE] +
			     s->vm[i]->p2m.count[P2M_SHARED];
	return n;
}

static bool item_less(const struct share *s, const struct oracle_item *a,
		      const struct oracle_item *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->hpa == b->hpa)
		return false;
	return __builtin_memcmp(bytes(s, a->hpa), bytes(s, b->hpa),
				PAGE_SIZE) < 0;
}

/* Heapsort by (group, hash, bytes): no allocation, no recursion. */
static void sift(const struct share *s, struct oracle_item *v, u64 n, u64 i)
{
	for (;;) {
		u64 c = 2 * i + 1, big = i;
		if (c < n && item_less(s, &v[big], &v[c]))
			big = c;
		if (c + 1 < n && item_less(s, &v[big], &v[c + 1]))
			big = c + 1;
		if (big == i)
			return;
		struct oracle_item t = v[i];
		v[i] = v[big];
		v[big] = t;
		i = big;
	}
}

struct share_oracle share_oracle(const struct share *s, void *scratch)
{
	struct oracle_item *v = scratch;
	struct share_oracle o = { 0, 0, 0 };
	u64 n = 0;

	for (int i = 0; i < SHARE_VMS; i++) {
		const struct gmem *g = s->vm[i];
		if (!g)
			continue;
		for (u64 gfn = 0; gfn < g->npages; gfn++) {
			enum p2m_state st = p2m_state(&g->p2m, gfn);
			if (st != P2M_PRIVATE && st != P2M_SHARED)
				continue;
			u64 hpa = p2m_value(&g->p2m, gfn);
			o.resident++;
			if (st == P2M_PRIVATE)
				o.used++;
			if (is_zero(bytes(s, hpa)))
				continue;	/* the zero frame: free */
			u64 h = share_page_hash(bytes(s, hpa));
			v[n++] = (struct oracle_item){
				((u64)s->group[i] << 56) | (h >> 8), hpa };
		}
	}
	o.used += s->st.frames_shared;
	for (u64 i = n / 2; i-- > 0;)
		sift(s, v, n, i);
	for (u64 end = n; end > 1; end--) {
		struct oracle_item t = v[0];
		v[0] = v[end - 1];
		v[end - 1] = t;
		sift(s, v, end - 1, 0);
	}
	/* Sorted: equal content is adjacent; each run needs one frame. */
	for (u64 i = 0; i < n; i++)
		if (!i || v[i].key != v[i - 1].key ||
		    (v[i].hpa != v[i - 1].hpa &&
		     __builtin_memcmp(bytes(s, v[i].hpa), bytes(s, v[i - 1].hpa),
				      PAGE_SIZE)))
			o.ideal++;
	return o;
}

/* --- the invariants ------------------------------------------------------- */

u64 share_check(const struct share *s, u32 *census, share_report_fn *report,
		void *ctx)
{
	const struct pool *p = s->pool;
	u64 diffs = 0, zero = 0, shared_frames = 0;

	for (u64 i = 0; i < p->nframes; i++)
		census[i] = 0;
	for (int i = 0; i < SHARE_VMS; i++) {
		const struct gmem *g = s->vm[i];
		if (!g)
			continue;
		for (u64 gfn = 0; gfn < g->npages; gfn++) {
			if (p2m_state(&g->p2m, gfn) != P2M_SHARED)
				continue;
			u64 hpa = p2m_value(&g->p2m, gfn);
			if (hpa == s->zero_hpa) {
				zero++;
			} else if (hpa >= p->base &&
				   (hpa - p->base) / PAGE_SIZE < p->nframes) {
				u64 f = (hpa - p->base) / PAGE_SIZE;
				census[f]++;
				if (p->meta[f].state == FRAME_SHARED &&
				    p->meta[f].owner != s->group[i] + 1u) {
					report(ctx, "share-check: vm%d (group %u) "
					       "gfn 0x%llx shares frame 0x%llx "
					       "of group %d", i, s->group[i],
					       (unsigned long long)gfn,
					       (unsigned long long)hpa,
					       (int)p->meta[f].owner - 1);
					diffs++;
				}
			} else {
				report(ctx, "share-check: vm%d gfn 0x%llx is "
				       "shared to 0x%llx, outside the pool", i,
				       (unsigned long long)gfn,
				       (unsigned long long)hpa);
				diffs++;
			}
		}
	}
	if (zero != s->zero_refs) {
		report(ctx, "share-check: %llu pages map the zero frame, its "
		       "count says %llu", (unsigned long long)zero,
		       (unsigned long long)s->zero_refs);
		diffs++;
	}
	if (!is_zero(bytes(s, s->zero_hpa))) {
		report(ctx, "share-check: the zero frame is not zero");
		diffs++;
	}
	for (u64 i = 0; i < p->nframes; i++) {
		const struct frame_meta *m = &p->meta[i];
		u64 hpa = p->base + i * PAGE_SIZE;
		if (m->state != FRAME_SHARED) {
			if (census[i]) {
				report(ctx, "share-check: %u pages are shared "
				       "to frame 0x%llx, which is in state %u",
				       census[i], (unsigned long long)hpa,
				       (unsigned)m->state);
				diffs++;
			}
			continue;
		}
		shared_frames++;
		if (m->refcount != census[i] || !m->hashed ||
		    (u32)m->gfn != (u32)s->hash(bytes(s, hpa))) {
			report(ctx, "share-check: shared frame 0x%llx: refcount "
			       "%u, %u pages map it; %s; hash %s",
			       (unsigned long long)hpa, m->refcount, census[i],
			       m->hashed ? "hashed" : "NOT HASHED",
			       (u32)m->gfn == (u32)s->hash(bytes(s, hpa))
				       ? "right"
				       : "WRONG (its bytes changed)");
			diffs++;
		}
	}
	if (shared_frames != s->st.frames_shared) {
		report(ctx, "share-check: %llu shared frames, the counter says "
		       "%llu", (unsigned long long)shared_frames,
		       (unsigned long long)s->st.frames_shared);
		diffs++;
	}
	return diffs;
}
