/*
 * swap.c - swapping guest pages to a block device (the RAM-disk).
 *
 * The mechanism:
 *
 * Slots are the device's 4 KiB blocks.  A slot is free, or owned by one
 * guest page (VM, gfn): SWAPPED in its p2m (the entry holds the slot), or
 * PRIVATE again and keeping the slot as a clean copy of its bytes (its
 * frame record says `swapcopy`, with the slot in `checksum`).  Free slots
 * form a list through the slot table.
 *
 * Victims are chosen by a clock (second chance) over the resident private
 * pages of every VM, with the accessed flag of each page's SLAT leaf: a
 * page whose flag is set has it cleared and is passed over once; a page
 * whose flag is still clear when the hand comes round again, or that has
 * no leaf at all, is a victim.  Where the CPU keeps no accessed flag, the
 * leaf itself is the sample (mm/slat.c: slat_test_and_clear_accessed).
 * Shared pages (mm/share.c) are passed over: their frame serves several
 * pages, and swapping it would mean updating every mapper.
 *
 * The hand works in batches: it unmaps each victim of a batch, then the
 * VMs whose leaves changed (victims, cleared flags) are flushed once, and
 * only then are the victims' bytes written and their frames freed.  A
 * cleared accessed flag is believed only after that flush.  Writing after
 * the flush means no translation can still change the bytes being saved.
 *
 * Swap-out of a victim: all zero -> UNPOPULATED, no write; a clean copy
 * in its slot -> SWAPPED to that slot, no write; otherwise a free slot,
 * the write, SWAPPED.  Swap-in is mm/gmem.c's: a violation on a SWAPPED
 * page takes a frame, reads the slot and maps it; after a read the slot
 * stays as a clean copy and the leaf is read-only, so that the first
 * write (a violation) frees the slot.
 *
 * Invariants (swap_check()): every used slot has one owner, which is
 * SWAPPED to it or keeps it as its clean copy; every SWAPPED entry owns
 * its slot; no SLAT leaf maps a swapped page (gmem_check()).
 */
#include "swap.h"
#include "gmem.h"
#include "../hv/bench.h"

#define SLOT_FREE (1ull << 63)
#define BATCH 32

static u64 owner_of(unsigned vm, u64 gfn)
{
	return ((u64)vm + 1) << 40 | gfn;
}

void swap_init(struct swap *s, struct blockdev *dev, struct pool *pool,
	       u64 *slot_storage, u64 low, u64 high)
{
	*s = (struct swap){ .dev = dev, .pool = pool, .slot = slot_storage,
			    .nslots = dev ? dev->nblocks : 0, .low = low,
			    .high = high };
	for (u64 i = s->nslots; i-- > 0;) {
		s->slot[i] = SLOT_FREE | s->free_head;
		s->free_head = i + 1;
	}
}

void swap_attach(struct swap *s, struct gmem *g)
{
	if (g->id >= SWAP_VMS)
		panic("swap_attach: vm id %u", g->id);
	s->vm[g->id] = g;
	g->swap = s;
}

void swap_detach(struct swap *s, struct gmem *g)
{
	if (g->id < SWAP_VMS && s->vm[g->id] == g)
		s->vm[g->id] = NULL;
}

/* --- slots ----------------------------------------------------------------- */

u64 swap_slot_alloc(struct swap *s, unsigned vm, u64 gfn)
{
	if (!s->free_head)
		return SWAP_NO_SLOT;
	u64 slot = s->free_head - 1;
	s->free_head = s->slot[slot] & ~SLOT_FREE;
	s->slot[slot] = owner_of(vm, gfn);
	s->used++;
	s->high_water = MAX(s->high_water, s->used);
	return slot;
}

void swap_slot_free(struct swap *s, u64 slot)
{
	if (slot >= s->nslots || (s->slot[slot] & SLOT_FREE))
		panic("swap_slot_free: slot %llu is not in use",
		      (unsigned long long)slot);
	s->slot[slot] = SLOT_FREE | s->free_head;
	s->free_head = slot + 1;
	s->used--;
}

void swap_read(struct swap *s, u64 slot, void *buf)
{
	s->dev->read(s->dev, slot, buf);
}

/* --- the clock ------------------------------------------------------------- */

static bool page_is_zero(const u64 *p)
{
	for (u64 i = 0; i < PAGE_SIZE / 8; i++)
		if (p[i])
			return false;
	return true;
}

static void *frame_bytes(struct gmem *g, u64 hpa)
{
	return g->slat.env.ptr(g->slat.env.ctx, hpa);
}

/*
 * The device is full: frees the slot of a clean copy (a resident page
 * keeping its swapped bytes, SLOT owned by a PRIVATE page), the next one
 * from a hand over the slots.  Its page stays resident, only its copy
 * goes (mm/gmem.c unmaps its read-only leaf, so the next access maps it
 * with every right).  Copies are a convenience, a dirty victim needs the
 * slot.  False if every used slot holds a swapped page.
 */
static bool steal_clean_copy(struct swap *s)
{
	for (u64 k = 0; k < s->nslots; k++) {
		u64 slot = s->steal_hand;
		s->steal_hand = (s->steal_hand + 1) % s->nslots;
		u64 o = s->slot[slot];
		if (o & SLOT_FREE)
			continue;
		unsigned vm = (unsigned)(o >> 40) - 1;
		u64 gfn = o & ((1ull << 40) - 1);
		struct gmem *g = vm < SWAP_VMS ? s->vm[vm] : NULL;
		if (!g || p2m_state(&g->p2m, gfn) != P2M_PRIVATE ||
		    p2m_marked(&g->p2m, gfn))
			continue;
		gmem_drop_swap_copy(g, gfn);
		s->st.copies_stolen++;
		return true;
	}
	return false;
}

/* Writes out one unmapped, flushed victim and frees its frame; false if it
 * had to stay (no free slot). */
static bool evict(struct swap *s, struct gmem *g, u64 gfn)
{
	u64 hpa = p2m_value(&g->p2m, gfn);
	struct frame_meta *m = pool_meta(g->pool, hpa);
	u64 slot;

	if (m->swapcopy) {
		slot = m->checksum;	/* its bytes are there already */
		m->swapcopy = 0;
		s->st.clean_drops++;
	} else if (page_is_zero(frame_bytes(g, hpa))) {
		gmem_frame_put(g, hpa);
		p2m_set(&g->p2m, gfn, P2M_UNPOPULATED, 0);
		s->st.zero_drops++;
		return true;
	} else {
		slot = swap_slot_alloc(s, g->id, gfn);
		if (slot == SWAP_NO_SLOT && steal_clean_copy(s))
			slot = swap_slot_alloc(s, g->id, gfn);
		if (slot == SWAP_NO_SLOT) {
			s->st.no_slot++;
			return false;	/* stays private; its leaf comes back
					   on the next touch */
		}
		s->dev->write(s->dev, slot, frame_bytes(g, hpa));
		s->st.swap_outs++;
	}
	gmem_frame_put(g, hpa);
	p2m_set(&g->p2m, gfn, P2M_SWAPPED, slot << PAGE_SHIFT);
	g->st.swapped_out++;
	return true;
}

/* The next attached VM after index i, or -1. */
static int next_vm(const struct swap *s, int i)
{
	for (int k = 1; k <= SWAP_VMS; k++) {
		int j = (i + k) % SWAP_VMS;
		if (s->vm[j])
			return j;
	}
	return -1;
}

/*
 * One batch: the hand moves until it has found up to `want` (at most
 * BATCH) victims or has gone twice round (the first turn clears flags);
 * the VMs it changed are flushed once; then the victims go out.  Returns
 * the frames freed.
 */
static u64 clock_batch(struct swap *s, u64 want, u32 mask)
{
	struct { struct gmem *g; u64 gfn; } victim[BATCH];
	unsigned touched = 0;
	u64 n = 0, visited = 0, limit = 0, freed = 0;

	for (int i = 0; i < SWAP_VMS; i++)
		if (s->vm[i] && (mask & (1u << i)))
			limit += 2 * s->vm[i]->npages;
	want = MIN(want, BATCH);
	while (n < want && visited < limit) {
		struct gmem *g = s->hand_vm >= 0 && s->hand_vm < SWAP_VMS
					 ? s->vm[s->hand_vm]
					 : NULL;
		if (!g || s->hand_gfn >= g->npages) {
			int next = next_vm(s, s->hand_vm);
			if (next < 0)
				break;
			if (g && next <= s->hand_vm)
				s->st.rounds++;
			s->hand_vm = next;
			s->hand_gfn = 0;
			continue;
		}
		if (!(mask & (1u << g->id))) {	/* not this VM: skip it */
			s->hand_gfn = g->npages;
			continue;
		}
		u64 gfn = s->hand_gfn++;
		visited++;
		/* A page chosen earlier in this batch (the hand may pass it
		 * twice) is marked. */
		if (p2m_state(&g->p2m, gfn) != P2M_PRIVATE ||
		    p2m_marked(&g->p2m, gfn))
			continue;
		touched |= 1u << g->id;
		if (slat_test_and_clear_accessed(&g->slat, gfn * PAGE_SIZE)) {
			s->st.passed_over++;
			continue;
		}
		slat_unmap(&g->slat, gfn * PAGE_SIZE);
		p2m_mark(&g->p2m, gfn, true);
		victim[n].g = g;
		victim[n].gfn = gfn;
		n++;
	}
	s->st.batches++;
	for (int i = 0; i < SWAP_VMS; i++)
		if (touched & (1u << i))
			gmem_settle(s->vm[i]);
	for (u64 k = 0; k < n; k++) {
		p2m_mark(&victim[k].g->p2m, victim[k].gfn, false);
		freed += evict(s, victim[k].g, victim[k].gfn);
	}
	return freed;
}

u64 swap_reclaim(struct swap *s, u64 need)
{
	return swap_reclaim_from(s, need, ~0u);
}

u64 swap_reclaim_from(struct swap *s, u64 need, u32 mask)
{
	u64 freed = 0;

	if (!swap_on(s))
		return 0;
	while (s->pool->st.free < need) {
		u64 t0 = bench_now();
		u64 got = clock_batch(s, need - s->pool->st.free, mask);
		if (!got)
			break;	/* nothing left to take */
		bench_record(BENCH_SWAP_OUT, (bench_now() - t0) / got);
		freed += got;
	}
	return freed;
}

void swap_background(struct swap *s)
{
	if (swap_on(s) && s->pool->st.free < s->low)
		swap_reclaim(s, s->high);
}

/* --- the invariants -------------------------------------------------------- */

u64 swap_check(const struct swap *s, swap_report_fn *report, void *ctx)
{
	u64 diffs = 0, used = 0, swapped = 0;

	for (u64 slot = 0; slot < s->nslots; slot++) {
		u64 o = s->slot[slot];
		if (o & SLOT_FREE)
			continue;
		used++;
		unsigned vm = (unsigned)(o >> 40) - 1;
		u64 gfn = o & ((1ull << 40) - 1);
		const struct gmem *g = vm < SWAP_VMS ? s->vm[vm] : NULL;
		if (!g || gfn >= g->npages) {
			report(ctx, "swap-check: slot %llu owned by vm%u gfn "
			       "0x%llx, which does not exist",
			       (unsigned long long)slot, vm,
			       (unsigned long long)gfn);
			diffs++;
			continue;
		}
		enum p2m_state st = p2m_state(&g->p2m, gfn);
		u64 v = p2m_value(&g->p2m, gfn);
		const struct frame_meta *m =
			st == P2M_PRIVATE ? pool_meta(s->pool, v) : NULL;
		bool ok = (st == P2M_SWAPPED && v >> PAGE_SHIFT == slot) ||
			  (m && m->swapcopy && m->checksum == slot);
		if (!ok) {
			report(ctx, "swap-check: slot %llu owned by vm%u gfn "
			       "0x%llx, whose p2m says %s 0x%llx",
			       (unsigned long long)slot, vm,
			       (unsigned long long)gfn, p2m_state_name(st),
			       (unsigned long long)v);
			diffs++;
		}
	}
	for (int i = 0; i < SWAP_VMS; i++) {
		const struct gmem *g = s->vm[i];
		if (!g)
			continue;
		swapped += g->p2m.count[P2M_SWAPPED];
		for (u64 gfn = 0; gfn < g->npages; gfn++) {
			if (p2m_state(&g->p2m, gfn) != P2M_SWAPPED)
				continue;
			u64 slot = p2m_value(&g->p2m, gfn) >> PAGE_SHIFT;
			if (slot >= s->nslots ||
			    s->slot[slot] != owner_of((unsigned)i, gfn)) {
				report(ctx, "swap-check: vm%d gfn 0x%llx is "
				       "swapped to slot %llu, which it does not "
				       "own", i, (unsigned long long)gfn,
				       (unsigned long long)slot);
				diffs++;
			}
		}
	}
	if (used != s->used) {
		report(ctx, "swap-check: %llu slots in use, the counter says "
		       "%llu", (unsigned long long)used,
		       (unsigned long long)s->used);
		diffs++;
	}
	(void)swapped;
	return diffs;
}
