/*
 * work.h - what workloads share: their context and result, the table of
 * pattern regions written so far (for `verify`), and fill/verify wrappers
 * that print what they found.
 */
#ifndef GUEST_WORK_H
#define GUEST_WORK_H

#include <stdint.h>

#include "cmdline.h"
#include "region.h"

enum work_result { WORK_PASS, WORK_SKIP, WORK_FAIL };

struct work_ctx {
	const struct guest_config *cfg;
	int status;         /* exit status when a workload fails */
	char reason[192];   /* the FAIL line's text */
	int corrupted;      /* corrupt=1 has been applied */
};

/* Records the failure and returns WORK_FAIL. */
int work_fail(struct work_ctx *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "<name>: SKIP <why>" and returns WORK_SKIP. */
int work_skip(const char *name, const char *why);

/* A new region of `pages` heap pages (unmapped until filled), registered
 * for the `verify` workload. */
struct region *work_new_region(const char *name, uint64_t pages,
			       uint32_t tag);
int work_region_count(void);
struct region *work_region(int i);

/* Fills pages [first, first+count) and applies corrupt=1 the first time
 * any region is filled. */
void work_fill(struct work_ctx *c, struct region *r, uint64_t first,
	       uint64_t count);

/* Verifies pages [first, first+count); on a wrong byte prints each one
 * (up to a limit), sets the failure reason and returns -1. */
int work_verify(struct work_ctx *c, struct region *r, uint64_t first,
		uint64_t count);

/* Heap demand faults so far (vm.c's counter). */
uint64_t work_faults(void);

int work_run(enum work_id w, struct work_ctx *c);

int work_touch(struct work_ctx *c);
int work_dup(struct work_ctx *c);
int work_cow(struct work_ctx *c);
int work_cow_storm(struct work_ctx *c);	/* hostile=cow-storm */
int work_hotcold(struct work_ctx *c);
int work_idle(struct work_ctx *c);
int work_verify_all(struct work_ctx *c);
int work_pt(struct work_ctx *c);
int work_balloon(struct work_ctx *c);
int work_settle(struct work_ctx *c);
int work_volatile(struct work_ctx *c);
int work_zero(struct work_ctx *c);
int work_hostile(struct work_ctx *c);
/* For the hostile= files: prints a call's answer beside the documented
 * one and fails on a difference; MEMSTAT's ballooned count (or -errno). */
int hostile_expect_rc(struct work_ctx *c, const char *what, int64_t rc,
		      int64_t want);
int64_t hostile_ballooned_now(void);
int work_hostile_emul(struct work_ctx *c);	/* work_hostile_emul.c */
/* The control- and debug-register actions (work_hostile_cr.c); WORK_SKIP
 * if c's action is not one of them. */
int work_hostile_cr(struct work_ctx *c);
/* The CPU-instruction actions (work_hostile_insn.c). */
int work_hostile_insn(struct work_ctx *c);
int work_hostile_core(struct work_ctx *c); /* work_hostile_core.c */
/* The actions on its own page tables (work_hostile_pt.c). */
int work_hostile_pt(struct work_ctx *c);
int work_ticks(struct work_ctx *c);		/* work_ticks.c */
int work_exits(struct work_ctx *c);		/* work_exits.c */
int work_hostile_apic(struct work_ctx *c);	/* work_hostile_apic.c */

int work_balloon_touch(struct work_ctx *c); /* hostile=balloon-touch */
int work_spill(struct work_ctx *c);
int work_grow(struct work_ctx *c);

/* Verifies every region written so far; 0, or -1 with the reason set. */
int work_verify_regions(struct work_ctx *c);

/* One idle wait: HLT until the next timer tick when the timer runs;
 * otherwise the balloon driver's poll, then YIELD (memvisor) or a PAUSE
 * loop (natively). */
void work_idle_step(void);

#endif
