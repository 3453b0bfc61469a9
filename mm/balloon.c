/*
 * balloon.c - ballooning: the guest gives pages back, the hypervisor
 * decides how many.
 *
 * The mechanism: the guest's balloon driver takes free frames from its
 * own allocator (the guest's applications never see them again) and hands
 * their gfns to the hypervisor (BALLOON_INFLATE).  Each page becomes
 * BALLOONED in the p2m and whatever backed it goes back: a private frame
 * to the pool, a shared frame loses one reference, a swap slot is freed.
 * Deflating (BALLOON_DEFLATE) makes the pages UNPOPULATED: the guest gets
 * them back as demand-zero pages.  A ballooned page the guest touches
 * anyway comes back as a zero page and is counted (mm/gmem.c).
 *
 * How many pages: the target (mm/reclaim.c sets it from the pool's free
 * memory, each VM's shares and its idle memory).  The target counts what
 * the balloon and the swapper have reclaimed together, so a VM whose
 * driver does not cooperate is brought to the same target by swapping
 * (mm/reclaim.c) instead; the guest is told the part its balloon should
 * hold: the target less its swapped pages.
 *
 * Progress: a VM short of its target whose balloon did not grow during
 * BALLOON_LAG_PERIODS policy periods "does not balloon fast enough".
 */
#include "balloon.h"
#include "gmem.h"

u64 balloon_apply(struct gmem *g, const u64 *gfns, u64 count, bool inflate)
{
	struct balloon *b = &g->balloon;

	for (u64 k = 0; k < count; k++)
		gmem_release(g, gfns[k],
			     inflate ? P2M_BALLOONED : P2M_UNPOPULATED);
	gmem_settle(g);	/* one flush for the whole list, now */
	if (inflate) {
		b->st.inflated += count;
		b->st.inflates++;
	} else {
		b->st.deflated += count;
		b->st.deflates++;
	}
	b->st.held_max = MAX(b->st.held_max, balloon_held(g));
	return count;
}

u64 balloon_held(const struct gmem *g)
{
	return g->p2m.count[P2M_BALLOONED];
}

u64 balloon_reclaimed(const struct gmem *g)
{
	return g->p2m.count[P2M_BALLOONED] + g->p2m.count[P2M_SWAPPED];
}

u64 balloon_target(const struct gmem *g)
{
	u64 swapped = g->p2m.count[P2M_SWAPPED];

	return g->balloon.target > swapped ? g->balloon.target - swapped : 0;
}

bool balloon_short(const struct gmem *g)
{
	return balloon_reclaimed(g) < g->balloon.target;
}

bool balloon_lagging(const struct gmem *g)
{
	return balloon_short(g) && g->balloon.lag >= BALLOON_LAG_PERIODS;
}

void balloon_period(struct gmem *g)
{
	struct balloon *b = &g->balloon;
	u64 held = balloon_held(g);

	if (balloon_short(g) && held <= b->last_held) {
		b->lag++;
		b->st.lag_periods++;
	} else {
		b->lag = 0;
	}
	b->last_held = held;
	b->st.target_max = MAX(b->st.target_max, b->target);
}
