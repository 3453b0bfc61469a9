/*
 * reclaim.c - the reclaim policy: who gives memory back, how much, and by
 * which mechanism.
 *
 * The mechanism, after VMware ESX (Waldspurger, OSDI 2002): four
 * thresholds of free pool frames, high > soft > hard > low (defaults 6%,
 * 4%, 2% and 1% of the pool; mem_states= sets them), and in each state:
 *
 *   high  (free >= high)   sharing scans in the background (it always
 *                          does); targets shrink once free memory is well
 *                          above high, and the guests deflate.
 *   soft  (free <  high)   balloon targets for every VM (below); the
 *                          guests' drivers inflate toward them.
 *   hard  (free <  soft)   also swapping: from the VMs short of their
 *                          target that do not balloon fast enough, each
 *                          at most its shortfall, until free is back at
 *                          soft.  Below the hard threshold itself, from
 *                          every VM short of target, without waiting.
 *                          Below swap_low='s LOW (default 2%, = hard),
 *                          the clock also swaps from every VM, coldest
 *                          pages first, up to its HIGH (default 4%).
 *   low   (free <  low)    also holding: a VM short of its target is not
 *                          scheduled until swapping brought it under.
 *
 * Targets.  A VM's target is the number of its pages to reclaim (ballooned
 * plus swapped).  The total follows free memory: below high it grows by
 * what is missing to the middle of [high, high + (high - soft)]; above
 * that band it shrinks by the surplus; inside it stays.  The total is
 * spread by min-funding revocation: page by page (in chunks), the next
 * page to reclaim comes from the VM with the fewest shares per page,
 *
 *     rho = shares / (pages * (active + k * idle)),  k = 1 / (1 - tax)
 *
 * where pages is what the VM would hold without the reclaim, and active,
 * idle are the fractions of its resident pages that the sampler found
 * touched or untouched.  With the default tax of 75% an idle page costs
 * four active ones: a VM that sits on idle memory gives it back first.
 * No target exceeds balloon_max percent of the VM's RAM (default 65%,
 * ESX's Mem.CtlMaxPercent), nor what the VM has.
 *
 * Idle memory.  The sampler takes 64 resident private pages of each VM
 * at random (as ESX samples) and clears the accessed flags of their
 * SLAT leaves (mm/slat.c; where the CPU keeps none, the leaf itself is
 * dropped and its return is the sign).  Clearing owes a TLB flush, paid
 * before the VM's next entry, so the next access sets the flag again.
 * 32 periods later it reads the flags back: the fraction still clear
 * is the sample's idle fraction, and the estimate moves halfway to it;
 * then the next 64 pages.  The swap clock reads the same flags:
 * a flag the sampler cleared counts as "not accessed since" for the clock
 * too, which only makes the clock's second chance a little shorter.
 */
#include "reclaim.h"
#include "balloon.h"
#include "gmem.h"
#include "swap.h"

#define SAMPLE_PERIODS 32	/* periods between a sample and its reading */
#define CHUNKS 128		/* steps a total is spread in */

static const char *const state_names[MEM_STATES] = {
	[MEM_HIGH] = "high", [MEM_SOFT] = "soft", [MEM_HARD] = "hard",
	[MEM_LOW] = "low",
};

const char *mem_state_name(enum mem_state s)
{
	return s < MEM_STATES ? state_names[s] : "?";
}

enum mem_state mem_state_of(const struct mem_thresholds *t, u64 free)
{
	if (free >= t->high)
		return MEM_HIGH;
	if (free >= t->soft)
		return MEM_SOFT;
	if (free >= t->low)
		return MEM_HARD;
	return MEM_LOW;
}

struct mem_thresholds mem_thresholds_from_pct(u64 frames, unsigned high,
					      unsigned soft, unsigned hard,
					      unsigned low)
{
	struct mem_thresholds t = {
		.high = frames * high / 100, .soft = frames * soft / 100,
		.hard = frames * hard / 100, .low = frames * low / 100,
	};

	t.low = MAX(t.low, 1);
	t.hard = MAX(t.hard, t.low + 1);
	t.soft = MAX(t.soft, t.hard + 1);
	t.high = MAX(t.high, t.soft + 1);
	return t;
}

/* --- targets ---------------------------------------------------------------- */

/* The cost of one page of v, in units where an active page costs
 * (100 - tax): active * (100 - tax) + idle * 100, per mille. */
static u64 page_cost(const struct reclaim_vm *v, unsigned tax)
{
	u64 idle = MIN(v->idle_pm, 1000);

	return (1000 - idle) * (100 - tax) + idle * 100;
}

/* True if VM a should give the next page before VM b: fewer shares per
 * (weighted) page, rho_a < rho_b, compared by cross-multiplying. */
static bool poorer(const struct reclaim_vm *a, u64 left_a,
		   const struct reclaim_vm *b, u64 left_b, unsigned tax)
{
	unsigned __int128 lhs = (unsigned __int128)a->shares * left_b *
				page_cost(b, tax);
	unsigned __int128 rhs = (unsigned __int128)b->shares * left_a *
				page_cost(a, tax);

	return lhs < rhs;
}

void reclaim_targets(const struct reclaim_params *p, u64 free,
		     struct reclaim_vm *vms, int n)
{
	const struct mem_thresholds *t = &p->th;
	u64 gap = t->high - t->soft, aim = t->high + gap / 2;
	u64 reclaimed = 0, kept = 0, total, cap[RECLAIM_VMS];

	n = MIN(n, RECLAIM_VMS);
	for (int i = 0; i < n; i++) {
		struct reclaim_vm *v = &vms[i];
		if (!v->active) {
			v->target = 0;
			cap[i] = 0;
			continue;
		}
		cap[i] = MIN(v->pages * p->balloon_max / 100,
			     v->resident + v->reclaimed);
		reclaimed += v->reclaimed;
		kept += MIN(v->target, cap[i]);
	}
	if (free < t->high)
		total = reclaimed + (aim - free);
	else if (free > t->high + gap)
		total = reclaimed > free - aim ? reclaimed - (free - aim) : 0;
	else
		total = kept;

	u64 left = total, chunk = MAX(total / CHUNKS, 1);
	for (int i = 0; i < n; i++)
		vms[i].target = 0;
	while (left) {
		int best = -1;
		for (int i = 0; i < n; i++) {
			struct reclaim_vm *v = &vms[i];
			if (!v->active || v->target >= cap[i])
				continue;
			u64 has = v->resident + v->reclaimed - v->target;
			if (best < 0 ||
			    poorer(v, has, &vms[best],
				   vms[best].resident + vms[best].reclaimed -
					   vms[best].target,
				   p->idle_tax))
				best = i;
		}
		if (best < 0)
			break;	/* every VM at its bound */
		u64 step = MIN(MIN(chunk, left), cap[best] - vms[best].target);
		vms[best].target += step;
		left -= step;
	}
}

/* --- the period ------------------------------------------------------------ */

void reclaim_init(struct reclaim *r, struct pool *pool, struct swap *swap,
		  const struct reclaim_params *par)
{
	*r = (struct reclaim){ .pool = pool, .swap = swap, .par = *par };
}

void reclaim_attach(struct reclaim *r, struct gmem *g)
{
	if (g->id >= RECLAIM_VMS)
		panic("reclaim_attach: vm id %u", g->id);
	r->vm[g->id] = g;
}

void reclaim_detach(struct reclaim *r, struct gmem *g)
{
	if (g->id < RECLAIM_VMS && r->vm[g->id] == g)
		r->vm[g->id] = NULL;
}

/*
 * The idle sampler of one VM: every SAMPLE_PERIODS periods, the pages of
 * the last sample whose accessed flag came back count as active, the rest
 * as idle; then BALLOON_SAMPLE private pages picked at random are the new
 * sample, their flags cleared (the flush that owes is paid before
 * the VM's next entry).  A flag is thus read only after a known interval,
 * never as "touched at some time since it was mapped".
 */
static void sample_idle(struct reclaim *r, struct gmem *g)
{
	struct balloon *b = &g->balloon;
	u64 seen = 0, untouched = 0;

	if (++b->age < SAMPLE_PERIODS && b->nsample)
		return;
	for (u32 i = 0; i < b->nsample; i++) {
		u64 gfn = b->sample[i];
		if (p2m_state(&g->p2m, gfn) != P2M_PRIVATE)
			continue;	/* gone meanwhile: no sample */
		seen++;
		if (!slat_test_and_clear_accessed(&g->slat, gfn * PAGE_SIZE))
			untouched++;
	}
	if (seen) {
		b->idle_pm = (b->idle_pm + untouched * 1000 / seen) / 2;
		r->st.sampled += seen;
	}
	b->nsample = 0;
	b->age = 0;
	for (u64 tries = 0;
	     b->nsample < BALLOON_SAMPLE && tries < 4 * g->npages &&
	     g->p2m.count[P2M_PRIVATE];
	     tries++) {
		/* Pages at random (a 64-bit LCG, Knuth's MMIX constants): a
		 * run of neighbours would sample one region at a time. */
		b->hand = b->hand * 6364136223846793005ull +
			  1442695040888963407ull;
		u64 gfn = (b->hand >> 33) % g->npages;
		if (p2m_state(&g->p2m, gfn) != P2M_PRIVATE ||
		    p2m_marked(&g->p2m, gfn))
			continue;	/* not resident, or taken already */
		p2m_mark(&g->p2m, gfn, true);
		slat_test_and_clear_accessed(&g->slat, gfn * PAGE_SIZE);
		b->sample[b->nsample++] = gfn;
	}
	for (u32 i = 0; i < b->nsample; i++)	/* exactly the marks set */
		p2m_mark(&g->p2m, b->sample[i], false);
}

/* The VMs short of their target (and, if lagging_only, not ballooning
 * fast enough), as a mask for the swap clock. */
static u32 short_mask(const struct reclaim *r, bool lagging_only)
{
	u32 mask = 0;

	for (int i = 0; i < RECLAIM_VMS; i++) {
		const struct gmem *g = r->vm[i];
		if (g && (lagging_only ? balloon_lagging(g) : balloon_short(g)))
			mask |= 1u << i;
	}
	return mask;
}

/* Swaps from the VMs in mask until the pool has `want` free frames, each
 * at most its shortfall when `shortfall` is set. */
static u64 swap_from(struct reclaim *r, u32 mask, u64 want, bool shortfall)
{
	u64 freed = 0;

	for (int i = 0; i < RECLAIM_VMS && r->pool->st.free < want; i++) {
		struct gmem *g = r->vm[i];
		if (!g || !(mask & (1u << i)))
			continue;
		u64 need = want - r->pool->st.free;
		if (shortfall)
			need = MIN(need, g->balloon.target - balloon_reclaimed(g));
		freed += swap_reclaim_from(r->swap, r->pool->st.free + need,
					   1u << i);
	}
	return freed;
}

void reclaim_period(struct reclaim *r)
{
	struct reclaim_vm in[RECLAIM_VMS] = { 0 };
	u64 free = r->pool->st.free;

	r->st.periods++;
	for (int i = 0; i < RECLAIM_VMS; i++) {
		struct gmem *g = r->vm[i];
		if (!g)
			continue;
		sample_idle(r, g);
		in[i] = (struct reclaim_vm){
			.active = true,
			.pages = g->npages,
			.resident = g->p2m.count[P2M_PRIVATE] +
				    g->p2m.count[P2M_SHARED],
			.reclaimed = balloon_reclaimed(g),
			.idle_pm = g->balloon.idle_pm,
			.shares = g->balloon.shares ? g->balloon.shares
						    : SHARES_DEFAULT,
			.target = g->balloon.target,
		};
	}
	reclaim_targets(&r->par, free, in, RECLAIM_VMS);
	for (int i = 0; i < RECLAIM_VMS; i++) {
		if (!r->vm[i])
			continue;
		r->vm[i]->balloon.target = in[i].target;
		balloon_period(r->vm[i]);
	}

	r->state = mem_state_of(&r->par.th, free);
	r->st.in_state[r->state]++;
	r->swapping = false;
	if (r->state >= MEM_HARD && swap_on(r->swap)) {
		u64 want = r->par.th.soft, before = r->pool->st.free;
		bool hard = free < r->par.th.hard;
		r->st.swapped_short += swap_from(r, short_mask(r, !hard), want,
						 true);
		u64 mid = r->pool->st.free;
		swap_background(r->swap);	/* swap_low=: every VM */
		r->st.swapped_all += r->pool->st.free - mid;
		r->swapping = r->pool->st.free > before;
		r->state = mem_state_of(&r->par.th, r->pool->st.free);
	}
}

bool reclaim_holds(const struct reclaim *r, const struct gmem *g)
{
	return r->state == MEM_LOW && r->swapping && balloon_short(g);
}

bool reclaim_can_free(const struct reclaim *r, const struct gmem *g,
		      u32 runnable)
{
	for (int i = 0; i < RECLAIM_VMS; i++) {
		const struct gmem *o = r->vm[i];
		if (!o || o == g || !(runnable & (1u << i)))
			continue;
		u64 cap = o->npages * r->par.balloon_max / 100;
		if (balloon_held(o) < cap &&
		    o->p2m.count[P2M_PRIVATE] + o->p2m.count[P2M_SHARED])
			return true;
	}
	return false;
}
