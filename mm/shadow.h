/*
 * shadow.h - the shadow MMU: page tables that map a guest's virtual
 * addresses straight to host frames, for a VM that runs without EPT/NPT
 * (vm=...,paging=shadow; issue 17).  The CPU walks them as its ordinary
 * page tables, loaded in the guest's place of CR3 (the articles' "三表合一":
 * guest tables, p2m and host frames folded into one).
 *
 * How they are kept true:
 *
 *   - Built on demand, at #PF exits.  shadow_fault() walks the guest's own
 *     tables (mm/gwalk.c, setting the guest's accessed and dirty flags as
 *     the CPU would); a fault those tables explain goes back to the guest
 *     (SHADOW_REFLECT, with the CPU's error code).  Otherwise the guest
 *     page is composed with the p2m exactly as a SLAT violation would be
 *     (mm/gmem.c: populated, swapped in, copied on write) and one 4 KiB
 *     shadow leaf is installed with the rights of the guest's path and of
 *     the p2m together.  A leaf for a page the guest has not dirtied yet is
 *     read-only, so the first write comes back to set the dirty flag.
 *
 *   - The p2m stays the one truth.  The VM's gmem keeps its SLAT tree as
 *     the record of what the p2m lets the guest reach (in a software format
 *     whose leaves the CPU never sees: shadow_vslat_format), and every
 *     mechanism (sharing, swapping, ballooning) changes guest memory
 *     through it as for any VM.  Each change of a present entry of that
 *     tree removes the shadow leaves that map the page, found through a
 *     reverse map (guest page -> shadow leaves: shadow_p2m_unmapped()),
 *     and the TLB flush the change owes (mm/slat.h, "The TLB rule") is
 *     paid before the guest runs again and before a released frame can be
 *     reused (shadow_p2m_flush()).  Without the reverse map (rmap_cap 0,
 *     shadow_rmap=off), or when it lost track (full, a root evicted), that
 *     flush drops every shadow instead: both are counted, to be compared.
 *
 *   - Guest page-table pages are write-protected: every page a walk read a
 *     table from is marked SH_PT and never mapped writable by a shadow
 *     leaf.  A write the guest's own tables allow to such a page (a
 *     "page-table write") unprotects it: the write proceeds through a
 *     writable leaf and the shadows are "unsynced": shadow entries derived
 *     from tables the guest may change without an exit can go stale, as
 *     TLB entries may until the guest invalidates them, so while unsynced
 *     every INVLPG and CR3 load drops every shadow (shadow.c
 *     protect_walk()).  This is the "unprotect and resynchronize"
 *     strategy, not emulation of the writing instruction: it needs no
 *     instruction decoder, and its cost (whole flushes) is counted.
 *     Synced, INVLPG drops one leaf; a CR3 load switches roots
 *     (SHADOW_ROOTS cached per VM).
 *
 * Limits, said here and checked at run time: 4-level long-mode guest
 * tables or paging off (mm/gwalk.h), guest large pages shadowed as 4 KiB
 * leaves, CR0.WP = 1 (the backend must keep the CPU's WP set under a guest
 * that clears it), no PCIDs.
 *
 * Pure logic: tests/test_shadow.c drives it over a real gmem with the
 * hypervisor's stand-ins (tests/stub_hv.c).
 */
#ifndef MM_SHADOW_H
#define MM_SHADOW_H

#include "gmem.h"
#include "gwalk.h"

#define SHADOW_ROOTS 4
/* The root of a guest with CR0.PG = 0: the identity GPA -> frame, as a
 * 3-level PAE tree (the CPU runs the guest with PAE paging on; its top
 * table is the 4-entry PDPT, whose entries hold no rights). */
#define SHADOW_PAGING_OFF (~0ull)

/* Per guest page (shadow.gfn_flags). */
#define SH_PT 0x1		/* read as a page table by a shadowed walk */
#define SH_WMAPPED 0x2		/* some shadow leaf maps it writable */

/* The software entry format of a shadow VM's SLAT tree: the NPT bits, but
 * no accessed flag, since no CPU walks it (mm/slat.h: sampling in
 * software). */
extern const struct slat_format shadow_vslat_format;

struct shadow_root {
	u64 cr3;		/* guest CR3 (page base), SHADOW_PAGING_OFF,
				   or 0: unused */
	u64 hpa;		/* its top table (allocated with the shadow) */
	struct gwalk_regs regs;	/* the guest's paging registers */
	u64 used;		/* when it was last loaded */
	bool filled;		/* tables were built under it (else its
				   top table is all zero) */
};

/* Why every shadow went (shadow_stats.flush_by). */
enum shadow_flush_cause {
	SHADOW_FLUSH_P2M,	/* the p2m changed (the SLAT tree's owed
				   flush): sharing, swapping, ballooning */
	SHADOW_FLUSH_INVALIDATE,	/* INVLPG or CR3 load while unsynced,
					   or an INVLPG of no known address */
	SHADOW_FLUSH_HV_WRITE,	/* the hypervisor wrote a guest table */
	SHADOW_FLUSH_CAUSES
};

struct shadow_stats {
	u64 faults;		/* #PF exits handled */
	u64 fixed;		/* ... answered with a shadow leaf */
	u64 reflected;		/* ... the guest's own page faults */
	u64 no_frame;		/* ... that found the pool empty */
	u64 dirty_faults;	/* first writes to a clean page */
	u64 pt_writes;		/* writes to write-protected guest tables */
	u64 self_writes;	/* ... to a table of the write's own walk */
	u64 flush_all;		/* every shadow dropped */
	u64 flush_by[SHADOW_FLUSH_CAUSES];	/* ... and why */
	u64 root_hits, root_misses;	/* CR3 loads */
	u64 invlpg;
	u64 tables_max;		/* most shadow table pages at once */
	u64 rmap_drops;		/* leaves removed through the reverse map */
	u64 rmap_flushes;	/* p2m flushes it answered (TLB only) */
	u64 rmap_full;		/* times it filled up */
	u64 samples, samples_used;	/* accessed flags read for the clock */
};

/* One shadow leaf that maps a guest page (the reverse map). */
struct shadow_rmap {
	u64 *spte;		/* the leaf, valid until the next reset */
	u32 next;		/* the page's next entry; 0 ends the list */
};

struct shadow {
	struct gmem *g;
	struct slat_env env;	/* table pages; flush = the guest's TLB */
	u8 *gfn_flags;		/* g->npages bytes: SH_PT, SH_WMAPPED */
	u32 *rmap_head;		/* g->npages: each page's first entry */
	struct shadow_rmap *rmap;	/* entries, 1..rmap_cap-1 */
	u64 rmap_cap, rmap_used;	/* 0: no reverse map */
	bool rmap_lost;		/* a leaf went unrecorded (full, or tables
				   freed): the next p2m flush drops all */
	bool p2m_drop_all;	/* ... it must, once */
	struct shadow_root root[SHADOW_ROOTS];
	int cur;		/* the root loaded, or -1 */
	u64 clock;
	u64 tables;		/* shadow table pages, roots included */
	u64 fault_gpa;		/* where the last fault's walk led */
	bool unsynced;		/* a guest table is mapped writable: the
				   next INVLPG or CR3 load flushes */
	struct shadow_stats st;
};

/* The bookkeeping shadow_init() carves from meta: page marks, and for a
 * reverse map of rmap_cap entries (0: none) its heads and entries. */
u64 shadow_meta_bytes(u64 npages, u64 rmap_cap);
/* meta holds shadow_meta_bytes() bytes.  0, or -1 if the root tables
 * cannot be allocated. */
int shadow_init(struct shadow *s, struct gmem *g, const struct slat_env *env,
		void *meta, u64 rmap_cap);
void shadow_destroy(struct shadow *s);

/* The guest loaded CR3 or changed its paging mode: the root to run with
 * (its host address, for the CPU's CR3), from the cache or new.  With the
 * guest's paging off it is a PAE PDPT: the CPU then needs it below 4 GiB
 * (the backend's table allocator must give such pages). */
u64 shadow_load(struct shadow *s, const struct gwalk_regs *regs);

enum shadow_verdict {
	SHADOW_FIXED,		/* a leaf is there now: retry the access */
	SHADOW_REFLECT,		/* inject #PF: error code in *error */
	SHADOW_NO_FRAME,	/* the pool is empty: wait for reclaim, retry */
	SHADOW_BAD,		/* stop the VM: why in *why */
};

/* A #PF exit at va with the CPU's error code, under the loaded root. */
enum shadow_verdict shadow_fault(struct shadow *s, u64 va, u32 error_code,
				 u32 *error, const char **why);

/* INVLPG va: the loaded root's leaf for it goes. */
void shadow_invlpg(struct shadow *s, u64 va);

/* The host address the loaded root maps va to, if a leaf does: where the
 * CPU itself fetched from (the guest's tables may say otherwise while the
 * shadows are unsynced, as a TLB may). */
bool shadow_translate(struct shadow *s, u64 va, u64 *hpa);

/* Drops every shadow entry of every root (the roots stay, empty) and the
 * page marks, and flushes the guest's TLB. */
void shadow_flush_all(struct shadow *s, enum shadow_flush_cause why);

/* The SLAT tree's hook (slat_env.unmapped): its leaf for gpa, which
 * mapped old_hpa, was removed or weakened; the shadow leaves that map it
 * go now (or, without a usable reverse map, all at the flush). */
void shadow_p2m_unmapped(struct shadow *s, u64 gpa, u64 old_hpa);
/* The flush that change owes: the guest's TLB, and every shadow if the
 * reverse map could not answer. */
void shadow_p2m_flush(struct shadow *s);
/* The SLAT tree's accessed-flag sample (slat_env.sample) for gpa, mapped
 * to hpa: whether a shadow leaf of that page has the accessed flag the CPU
 * sets (cleared now; the owed flush makes the CPU set it again), or -1
 * without a usable reverse map. */
int shadow_sample(struct shadow *s, u64 gpa, u64 hpa);

/* A write by the hypervisor to guest page gfn (not through a shadow leaf):
 * if the page is a guest page table, every shadow goes. */
void shadow_hv_wrote(struct shadow *s, u64 gfn);

/*
 * The self-check: every shadow leaf of every root against the guest's
 * tables and the p2m: the guest's walk of its address reaches the page
 * the p2m backs with exactly that frame; it grants no right the guest's
 * path does not; it is writable only for a private, dirty page that no
 * walk reads as a table.  Reports each difference; returns the number.
 */
u64 shadow_check(struct shadow *s, gmem_report_fn *report, void *ctx,
		 u64 *leaves);

#endif
