/*
 * reclaim.h - the reclaim policy (mm/reclaim.c): the pool's free-memory
 * states, balloon targets, and which VMs swapping and holding act on.
 * Pure logic: hv/run.c calls it between slices, the host tests
 * (tests/test_reclaim.c) call the same entry points on tables of inputs.
 */
#ifndef MM_RECLAIM_H
#define MM_RECLAIM_H

#include "pool.h"

struct gmem;
struct swap;

#define RECLAIM_VMS 8

/* The free-memory states, from the most free memory to the least. */
enum mem_state { MEM_HIGH, MEM_SOFT, MEM_HARD, MEM_LOW, MEM_STATES };

/* Thresholds in free pool frames: high > soft > hard > low > 0. */
struct mem_thresholds {
	u64 high, soft, hard, low;
};

/* Defaults (ESX, Waldspurger OSDI 2002), percent of the pool. */
#define MEM_STATES_DEFAULT_HIGH 6
#define MEM_STATES_DEFAULT_SOFT 4
#define MEM_STATES_DEFAULT_HARD 2
#define MEM_STATES_DEFAULT_LOW 1
#define IDLE_TAX_DEFAULT 75	/* percent, ESX's Mem.IdleTax */
#define IDLE_TAX_MAX 99
#define BALLOON_MAX_DEFAULT 65	/* percent of a VM's RAM, ESX's
				   Mem.CtlMaxPercent */
#define BALLOON_MAX_MAX 90
#define SHARES_DEFAULT 1000
#define SHARES_MAX 1000000

struct reclaim_params {
	struct mem_thresholds th;
	unsigned idle_tax;	/* percent */
	unsigned balloon_max;	/* percent of a VM's pages */
};

/* One VM as the policy sees it. */
struct reclaim_vm {
	bool active;		/* running: takes part */
	u64 pages;		/* its RAM */
	u64 resident;		/* pages with a frame (private or shared) */
	u64 reclaimed;		/* ballooned + swapped */
	u64 idle_pm;		/* per mille of its resident pages idle */
	u32 shares;
	u64 target;		/* in: the last target; out: the new one */
};

const char *mem_state_name(enum mem_state s);
enum mem_state mem_state_of(const struct mem_thresholds *t, u64 free);

/* Thresholds from percentages of a pool of `frames` (each at least one
 * frame, and strictly decreasing). */
struct mem_thresholds mem_thresholds_from_pct(u64 frames, unsigned high,
					      unsigned soft, unsigned hard,
					      unsigned low);

/*
 * The targets, a pure function: from the pool's free frames and each
 * VM's allocation, reclaimed pages, idle memory and shares, sets every
 * active VM's target (pages to reclaim from it).  Below high, targets
 * grow until the balloons together would bring free memory back above
 * high; well above high (by the high-soft gap), they shrink by the
 * surplus; in between they stay.  The total is spread by ESX's
 * min-funding revocation with the idle memory tax: the next page comes
 * from the VM with the fewest shares per page, where an idle page counts
 * 1/(1-tax) times an active one.  No target exceeds balloon_max percent
 * of a VM's pages, or what it has (resident + reclaimed).
 */
void reclaim_targets(const struct reclaim_params *p, u64 free,
		     struct reclaim_vm *vms, int n);

/* What the policy did, for the [stat] lines and the summary. */
struct reclaim_stats {
	u64 periods;
	u64 in_state[MEM_STATES];	/* periods spent in each state */
	u64 swapped_short;	/* pages swapped from VMs short of target */
	u64 swapped_all;	/* ... from every VM (below swap_low) */
	u64 holds;		/* periods a VM was held (below low) */
	u64 sampled;		/* pages the idle sampler looked at */
};

struct reclaim {
	struct pool *pool;
	struct swap *swap;	/* may be off */
	struct gmem *vm[RECLAIM_VMS];
	struct reclaim_params par;
	enum mem_state state;
	bool swapping;		/* the last period's swapping freed frames:
				   holding a VM helps only then */
	struct reclaim_stats st;
};

void reclaim_init(struct reclaim *r, struct pool *pool, struct swap *swap,
		  const struct reclaim_params *par);
void reclaim_attach(struct reclaim *r, struct gmem *g);
void reclaim_detach(struct reclaim *r, struct gmem *g);

/*
 * One policy period (between slices): samples each VM's idle memory,
 * sets the state and the targets, and below soft swaps from the VMs that
 * are short of their target and do not balloon fast enough (below hard:
 * from every VM short of target; below the swap device's low mark: from
 * every VM).
 */
void reclaim_period(struct reclaim *r);

/* Below low, a VM short of its target is not scheduled until swapping
 * has brought it back under (only while swapping makes progress: a VM is
 * never held on a promise nothing keeps). */
bool reclaim_holds(const struct reclaim *r, const struct gmem *g);

/* Whether a balloon could still free a frame for `g`, which found the
 * pool empty after sharing and swapping had nothing more to give: another
 * VM in `runnable` (a mask of VM ids that can run) that holds pages and
 * whose balloon is below its bound. */
bool reclaim_can_free(const struct reclaim *r, const struct gmem *g,
		      u32 runnable);

#endif
