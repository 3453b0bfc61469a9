/*
 * gwalk.h - the guest's own page-table walk, as the CPU does it (Intel SDM
 * Vol. 3A 4.5-4.8, AMD APM Vol. 2 5.3-5.6): 4-level long-mode paging,
 * 4 KiB, 2 MiB and 1 GiB pages, the R/W, U/S and NX rights with CR0.WP
 * and EFER.NXE, the accessed and dirty flags, and the page-fault error
 * code a denied access raises.
 *
 * One walker for every user: the hypervisor's accesses on the guest's
 * behalf (string I/O, instruction fetch for decoding: hv/vmmem.c) and the
 * shadow MMU, which builds shadow tables from the guest's (mm/shadow.c).
 * Pure logic: the guest's memory comes through struct gwalk_env, so
 * tests/test_gwalk.c drives it over a made-up guest.
 */
#ifndef MM_GWALK_H
#define MM_GWALK_H

#include "../hv/types.h"

/* The access, in the page-fault error code's own bits (SDM 4.7): a read
 * is none of them. */
#define PFERR_P (1u << 0)	/* the fault was a right denied, not a
				   missing entry */
#define PFERR_W (1u << 1)	/* a write */
#define PFERR_U (1u << 2)	/* at CPL 3 */
#define PFERR_RSVD (1u << 3)	/* a reserved bit was set */
#define PFERR_I (1u << 4)	/* an instruction fetch */

/* Guest page-table entry bits. */
#define GPTE_P (1ull << 0)
#define GPTE_RW (1ull << 1)
#define GPTE_US (1ull << 2)
#define GPTE_A (1ull << 5)
#define GPTE_D (1ull << 6)
#define GPTE_PS (1ull << 7)
#define GPTE_NX (1ull << 63)
#define GPTE_ADDR 0x000ffffffffff000ull

/* The guest's control registers that decide its paging. */
struct gwalk_regs {
	u64 cr0, cr3, cr4, efer;
};

/* Reads and writes one guest-physical u64 (a page-table entry); 0, or -1
 * if gpa is not the guest's RAM. */
struct gwalk_env {
	int (*read)(void *ctx, u64 gpa, u64 *value);
	int (*write)(void *ctx, u64 gpa, u64 value);
	void *ctx;
};

/* What a walk found. */
struct gwalk {
	u64 gpa;		/* the translation of the address */
	unsigned levels;	/* entries read (table[0] is the top) */
	u64 table[4];		/* each entry's guest-physical address */
	u64 entry[4];		/* ... and its value (as read, before A/D) */
	u64 page_size;		/* 4 KiB, 2 MiB or 1 GiB */
	bool writable, user, exec;	/* the rights of the whole path */
	u32 error;		/* GWALK_FAULT: the #PF error code */
	const char *why;	/* GWALK_FAULT, GWALK_BAD: in words */
};

enum gwalk_result {
	GWALK_OK = 0,
	GWALK_FAULT,		/* the guest's tables deny it: a #PF with
				   w->error, CR2 = the address */
	GWALK_BAD,		/* not translatable by this walker: a mode
				   it does not walk, a non-canonical address
				   (#GP, not #PF), a table outside RAM */
};

/* Set the accessed and dirty flags as the CPU would for this access (off:
 * a look that changes nothing, for the hypervisor's own reads). */
#define GWALK_SET_AD (1u << 8)

/*
 * Walks the guest's tables for an access at va.  access: PFERR_W, PFERR_U,
 * PFERR_I as the access is, and GWALK_SET_AD.  With paging off the
 * translation is the identity.  The accessed flags are set in each entry
 * the walk used and, for a write, the dirty flag in the leaf, only when
 * the access is allowed (the SDM lets a faulting walk set them or not).
 */
enum gwalk_result gwalk(const struct gwalk_regs *r, u64 va, unsigned access,
			const struct gwalk_env *env, struct gwalk *w);

#endif
