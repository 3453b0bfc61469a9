/*
 * swap.h - swapping guest pages to a block device (mm/swap.c).
 * Pure logic: the hypervisor (hv/vmmem.c) and the host tests supply the
 * memory and the device.
 */
#ifndef MM_SWAP_H
#define MM_SWAP_H

#include "pool.h"
#include "ramdisk.h"

struct gmem;

#define SWAP_VMS 8
#define SWAP_NO_SLOT (~0ull)

struct swap_stats {
	u64 swap_outs;		/* pages written to a slot */
	u64 swap_ins;		/* swapped pages touched again (refaults) */
	u64 zero_drops;		/* all-zero victims: unpopulated, no write */
	u64 clean_drops;	/* victims whose slot still held their bytes */
	u64 batches;		/* clock batches (one flush per VM each) */
	u64 passed_over;	/* pages whose accessed bit saved them once */
	u64 rounds;		/* full turns of the clock hand */
	u64 no_slot;		/* victims kept: the device was full */
	u64 copies_stolen;	/* clean copies dropped for a dirty victim */
};

struct swap {
	struct blockdev *dev;	/* NULL: swapping is off */
	struct pool *pool;
	u64 *slot;		/* per slot: SLOT_FREE | next, or the owner */
	u64 nslots, used, high_water;
	u64 free_head;		/* slot + 1; 0 = none free */
	struct gmem *vm[SWAP_VMS];
	int hand_vm;		/* the clock hand */
	u64 hand_gfn;
	u64 steal_hand;		/* the next slot steal_clean_copy() looks at */
	u64 low, high;		/* free pool frames: background swapping
				   starts below low and stops at high */
	struct swap_stats st;
};

/* slot_storage holds dev->nblocks u64s; dev NULL turns swapping off. */
void swap_init(struct swap *s, struct blockdev *dev, struct pool *pool,
	       u64 *slot_storage, u64 low, u64 high);
void swap_attach(struct swap *s, struct gmem *g);
void swap_detach(struct swap *s, struct gmem *g);

static inline bool swap_on(const struct swap *s)
{
	return s && s->dev;
}

/* Swaps out cold pages until the pool has `need` free frames or the clock
 * finds no more victims; returns the frames freed.  Never touches a page
 * that is not resident, so never the page a fault is about. */
u64 swap_reclaim(struct swap *s, u64 need);
/* The same, taking only pages of the VMs whose id bits are set in mask. */
u64 swap_reclaim_from(struct swap *s, u64 need, u32 mask);

/* Between slices: below the low watermark, swap out until the high one. */
void swap_background(struct swap *s);

/* For mm/gmem.c: slots and their contents. */
u64 swap_slot_alloc(struct swap *s, unsigned vm, u64 gfn);
void swap_slot_free(struct swap *s, u64 slot);
void swap_read(struct swap *s, u64 slot, void *buf);

/*
 * The invariants: every used slot's owner (VM, gfn) is SWAPPED to it, or
 * is a private page keeping it as a clean copy; every SWAPPED entry of an
 * attached VM owns its slot; used counts the used slots.  Returns the
 * differences (reported).
 */
typedef void swap_report_fn(void *ctx, const char *fmt, ...) __printf(2, 3);
u64 swap_check(const struct swap *s, swap_report_fn *report, void *ctx);

#endif
