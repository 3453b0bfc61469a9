/*
 * gmem.h - a VM's guest-physical memory: the one owner of its p2m, of the
 * SLAT tables derived from it, and of the pool frames behind them.
 *
 * Every change to guest memory goes through here, whoever asks: the SLAT
 * violation handler (gmem_fault), the hypervisor reading or writing guest
 * RAM (gmem_read, gmem_write), the balloon (gmem_release), teardown
 * (gmem_destroy).  Each is written for all five p2m states; a state no
 * mechanism produces yet (SHARED, SWAPPED) panics where it would need that
 * mechanism, so nothing ever treats it as zero.
 *
 * Pure logic: the hypervisor (hv/vmmem.c) and the host tests
 * (tests/test_gmem.c) supply the environment.
 */
#ifndef MM_GMEM_H
#define MM_GMEM_H

#include "balloon.h"
#include "p2m.h"
#include "pool.h"
#include "slat.h"

/* The access that faulted (SLAT violation), as bits. */
#define GMEM_READ (1u << 0)
#define GMEM_WRITE (1u << 1)
#define GMEM_EXEC (1u << 2)
#define GMEM_WALK (1u << 3)	/* by the guest's own page-table walk */

/* Who populates a page (kept apart in the statistics). */
enum gmem_by {
	GMEM_BY_LOADER,		/* the guest loader: image, boot info */
	GMEM_BY_GUEST,		/* first touch: a SLAT violation */
	GMEM_BY_HV,		/* the hypervisor writing for the guest */
};

struct gmem_stats {
	u64 loaded;		/* pages populated by the loader */
	u64 populated_slat;	/* demand-zero pages populated on first touch */
	u64 populated_hv;	/* pages populated by hypervisor writes */
	u64 maps;		/* violations answered with a SLAT leaf */
	u64 rebuilds;		/* ... for a page mapped before: the SLAT had
				   been dropped, the data was kept */
	u64 resident_max;	/* most pages resident at once */
	u64 shared_max;		/* most pages shared at once */
	u64 balloon_freed;	/* resident pages released into the balloon */
	u64 balloon_touched;	/* ballooned pages touched anyway */
	u64 deferred;		/* frames that waited for a TLB flush */
	u64 zero_merges;	/* pages merged into the zero frame */
	u64 cow_breaks;		/* writes to shared pages (guest or hv) */
	u64 cow_guest;		/* ... by the guest's own stores (MEMSTAT) */
	u64 cow_page_walks;	/* ... by the guest's page-table walk */
	u64 swapped_out;	/* pages taken to swap (or dropped as zero) */
	u64 swapped_in;		/* swapped pages touched again (refaults) */
	u64 swapped_max;	/* most pages swapped at once (sampled
				   between slices) */
};

struct share;
struct swap;

/*
 * Frames released while a flush is owed wait on `stale` (linked through
 * their pool records) until gmem_settle() has paid it: a frame is never
 * back in the pool while a translation to it may survive in a TLB.
 */
struct gmem {
	unsigned id;		/* the pool's owner id for this VM */
	u64 npages;
	struct p2m p2m;
	struct slat slat;
	struct pool *pool;
	struct share *share;	/* the scanner this VM is attached to, or
				   NULL: then nothing of it is ever shared */
	struct swap *swap;	/* its swap device, or NULL: never swapped */
	u32 stale;		/* pool index + 1 of the first stale frame */
	u64 nstale;
	struct balloon balloon;	/* its target and progress: mm/balloon.c */
	struct gmem_stats st;
};

/* What gmem_fault() decided. */
enum gmem_verdict {
	GMEM_MAP,		/* map answer->hpa with answer->perms */
	GMEM_NO_FRAME,		/* the pool is exhausted */
	GMEM_BAD_FAULT,		/* a permission fault on a leaf that grants
				   the access: a hypervisor bug */
};

struct gmem_answer {
	u64 hpa;
	unsigned perms;		/* SLAT_R|W|X */
};

/* An impossible state: provided by the hypervisor (hv/finish.c) and by
 * the host tests. */
void __noreturn panic(const char *fmt, ...) __printf(1, 2);

/* p2m_storage holds npages u64s; env as for slat_init().  0, or -1 if
 * the SLAT root cannot be allocated. */
int gmem_init(struct gmem *g, unsigned id, u64 npages, u64 *p2m_storage,
	      struct pool *pool, const struct slat_format *fmt,
	      const struct slat_env *env);

/* Releases every page in whatever state, flushes, frees every frame,
 * slot and table. */
void gmem_destroy(struct gmem *g);

/*
 * Answers a SLAT violation on gfn (< npages) for the access bits; present
 * says the leaf existed (a permission fault).  The page is populated as
 * its state requires; on GMEM_MAP the caller maps it with gmem_map().
 */
enum gmem_verdict gmem_fault(struct gmem *g, u64 gfn, unsigned access,
			     bool present, struct gmem_answer *answer);

/* Installs the leaf gmem_fault() answered for gfn.  0, or -1 if a table
 * page could not be allocated. */
int gmem_map(struct gmem *g, u64 gfn, const struct gmem_answer *answer);

/* True if [gpa, gpa + len) lies inside the VM's RAM. */
static inline bool gmem_in_ram(const struct gmem *g, u64 gpa, u64 len)
{
	u64 bytes = g->npages * PAGE_SIZE;
	return gpa <= bytes && len <= bytes - gpa;
}

/* Copies guest RAM out (a page without a frame reads as zeros).  0, or -1
 * outside RAM. */
int gmem_read(struct gmem *g, u64 gpa, void *dst, u64 len);

/* Copies into guest RAM, populating pages.  All or nothing: -1 outside RAM
 * or if the pool cannot back every page, and then no byte is written. */
int gmem_write(struct gmem *g, u64 gpa, const void *src, u64 len,
	       enum gmem_by by);

/* Releases whatever backs gfn (frame, share, slot, SLAT leaf) and leaves
 * it in state `to`: P2M_BALLOONED (inflate) or P2M_UNPOPULATED. */
void gmem_release(struct gmem *g, u64 gfn, enum p2m_state to);

/* Pays an owed TLB flush, then returns the frames and tables that waited
 * for it.  The core calls it before every entry into the VM. */
void gmem_settle(struct gmem *g);

/* For mm/share.c: gives back a private frame this VM no longer maps
 * (held until the flush, if one is owed). */
void gmem_frame_put(struct gmem *g, u64 hpa);

/* For mm/swap.c, out of slots: a private page gives up its clean swap
 * copy (the slot is freed, its read-only leaf removed). */
void gmem_drop_swap_copy(struct gmem *g, u64 gfn);

/*
 * The invariants (docs/hypervisor.md), for this VM: every p2m entry and
 * its pool record agree, every SLAT leaf maps exactly its PRIVATE (RWX) or
 * SHARED (read-only) frame, the counters match what is there.  Reports
 * each difference through report() and returns how many there were.
 */
typedef void gmem_report_fn(void *ctx, const char *fmt, ...) __printf(2, 3);
u64 gmem_check(struct gmem *g, gmem_report_fn *report, void *ctx);

#endif
