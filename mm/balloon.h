/*
 * balloon.h - a VM's balloon, as the hypervisor sees it (mm/balloon.c).
 * Pure logic: hv/hypercall.c brings the validated gfn lists, mm/reclaim.c
 * sets the targets, the host tests drive both.
 */
#ifndef MM_BALLOON_H
#define MM_BALLOON_H

#include "../hv/types.h"

struct gmem;

#define BALLOON_SAMPLE 64	/* pages in one idle-memory sample */

struct balloon_stats {
	u64 inflated;		/* pages the guest handed over */
	u64 deflated;		/* pages it took back */
	u64 inflates, deflates;	/* calls */
	u64 target_max;		/* the highest target it was given */
	u64 held_max;		/* the most pages it held at once */
	u64 lag_periods;	/* policy periods it stayed short of its
				   target without moving toward it */
};

/*
 * Per VM.  target: what the policy wants reclaimed from the VM, in pages
 * (the balloon and the swapper together: ballooned + swapped); the guest
 * reads it through BALLOON_TARGET and inflates or deflates toward it.
 */
struct balloon {
	u64 target;
	u32 shares;		/* vm=...,shares= (proportional share) */
	u64 last_held;		/* ballooned pages at the last period */
	u32 lag;		/* consecutive periods short and not moving */
	/* The idle estimate (mm/reclaim.c samples the SLAT accessed flags):
	 * per mille of sampled resident pages found untouched. */
	u64 idle_pm;
	u64 hand;		/* the sampler's random state */
	u32 nsample;		/* pages in the current sample */
	u32 age;		/* periods since it was taken */
	u64 sample[BALLOON_SAMPLE];	/* their gfns; flags cleared */
	struct balloon_stats st;
};

/* Pages this many periods short of the target without moving toward it
 * count as "not ballooning fast enough": swapping may take them. */
#define BALLOON_LAG_PERIODS 2

/*
 * Applies a gfn list the caller has validated (every gfn in RAM, none
 * twice, each ballooned for a deflate and not for an inflate): inflate
 * releases whatever backs each page (frame, shared reference, swap slot)
 * and marks it BALLOONED; deflate makes each UNPOPULATED (demand-zero).
 * Pays the one TLB flush the list owes before returning, so the frames
 * are in the pool for whichever VM needs one next.  Returns count.
 */
u64 balloon_apply(struct gmem *g, const u64 *gfns, u64 count, bool inflate);

/* What the VM should reclaim now, less what swapping already has. */
u64 balloon_target(const struct gmem *g);

/* Pages the VM has handed over, and what the balloon and swapping have
 * reclaimed from it together. */
u64 balloon_held(const struct gmem *g);
u64 balloon_reclaimed(const struct gmem *g);

/* Short of its target: the policy may swap or hold it. */
bool balloon_short(const struct gmem *g);

/* Short of its target for BALLOON_LAG_PERIODS periods without moving. */
bool balloon_lagging(const struct gmem *g);

/* Once per policy period, after the target was set: notes progress. */
void balloon_period(struct gmem *g);

#endif
