/*
 * bench.h - what the hypervisor's work costs, in TSC ticks, for `make bench`.
 *
 * Under QEMU with -icount shift=0 and under Bochs the TSC counts executed
 * instructions, so a TSC difference inside the hypervisor is a repeatable
 * instruction count.  The probes exist only in the benchmark build
 * (-DMV_BENCH, build/bench/hv.elf): in every other build each one below is
 * an empty inline function, so a normal run executes not one instruction
 * of them (scripts/bench-smoke.sh checks that hv.elf holds no bench_
 * symbol).
 *
 * An exit is timed from the moment the backend's entry stub returns (the
 * guest has exited and its registers are saved) to the moment the backend
 * calls the stub again, or to the end of the slice when the exit ends it.
 * It is filed under its reason (bench_exit_returned), unless the core or
 * mm/ says what it turned out to be (bench_exit_is: a SLAT violation that
 * populated a page, broke a COW, swapped a page in...).  Work outside an
 * exit (the sharing scanner, swap-out, a full scan pass) is timed where it
 * happens (bench_record).  hv/bench.c keeps the samples and prints a
 * `[bench] op=...` line per operation at the end of the run.
 */
#ifndef HV_BENCH_H
#define HV_BENCH_H

#include "types.h"

enum bench_op {
	/* Exits, by reason (index = enum exit_reason). */
	BENCH_EXIT_FIRST = 0,
	BENCH_EXIT_LAST = BENCH_EXIT_FIRST + 31,
	BENCH_EXIT_BARE,	/* HC_VERSION: exit, dispatch, resume: the
				   smallest path there is */
	BENCH_EXIT_BACKEND,	/* an exit the backend answered itself */
	BENCH_SLAT_POPULATE,	/* a SLAT violation that gave the page a
				   zeroed frame */
	BENCH_SLAT_POPULATE_NOZERO,	/* the same less its zeroing */
	BENCH_SLAT_POPULATE_RECLAIM,	/* a populate that had to reclaim */
	BENCH_SLAT_COW,		/* a write to a shared page: a copy */
	BENCH_SLAT_COW_LAST,	/* ... that held the last reference */
	BENCH_SLAT_SHARED_READ,	/* a read of a shared page: mapped R */
	BENCH_SLAT_SWAP_IN,	/* a swapped page read back */
	BENCH_SLAT_REBUILD,	/* a leaf rebuilt after a SLAT drop */
	BENCH_BALLOON_INFLATE,	/* per page of an inflate hypercall */
	BENCH_BALLOON_DEFLATE,	/* per page of a deflate hypercall */
	BENCH_SHARE_SCAN_PAGE,	/* the scanner on one page, no merge */
	BENCH_SHARE_MERGE,	/* ... on a page it merged */
	BENCH_SHARE_PASS,	/* one full pass over every VM's pages */
	BENCH_SHARE_PASS_PAGE,	/* ... over the pages it hashed */
	BENCH_SWAP_OUT,		/* one page written out (mm/swap.c evict) */
	BENCH_PAGE_ZERO,	/* the limits: zero a 4 KiB page, */
	BENCH_PAGE_COPY,	/* copy one, */
	BENCH_PAGE_HASH,	/* hash one (XXH3), */
	BENCH_PAGE_CMP,		/* compare two equal ones */
	BENCH_OP_COUNT
};

#ifdef MV_BENCH

static inline u64 bench_now(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* Backends: right after the entry stub returns, right before it is
 * called. */
void bench_exit_returned(void);
void bench_entering(void);
/* Core: the neutral reason, once the backend decoded it; the end of a
 * slice (an exit that ends it is timed to here). */
void bench_exit_reason(unsigned reason);
void bench_slice_ended(void);
/* Core and mm/: what the exit being handled turned out to be; per = how
 * many pages it worked on (the sample is divided by it). */
void bench_exit_is(enum bench_op op, u64 per);
/* Time inside the exit spent zeroing its new frame (what
 * BENCH_SLAT_POPULATE_NOZERO leaves out), or reclaiming a frame for it
 * (left out of every exit's sample: reclaim is measured by itself, as
 * BENCH_SWAP_OUT and the scanner's ops). */
void bench_exit_zeroed(u64 ticks);
void bench_exit_reclaimed(u64 ticks);
void bench_record(enum bench_op op, u64 ticks);
/* The scheduler waited this long with every vCPU asleep. */
void bench_idle(u64 ticks);
/* The sharing scanner: a round starts and ends; within it, the cursor
 * wrapped after a full pass over `pages` pages. */
void bench_scan_begin(void);
void bench_scan_wrapped(u64 pages);
void bench_scan_end(void);

/* At boot: the limits, measured on this machine in this run. */
void bench_limits(void *page_a, void *page_b, u64 (*hash)(const void *));
/* At the end: one line per operation. */
void bench_report(void);

#else /* !MV_BENCH: every probe is nothing */

static inline u64 bench_now(void) { return 0; }
static inline void bench_exit_returned(void) {}
static inline void bench_entering(void) {}
static inline void bench_exit_reason(unsigned reason) { (void)reason; }
static inline void bench_slice_ended(void) {}
static inline void bench_exit_is(enum bench_op op, u64 per)
{
	(void)op;
	(void)per;
}
static inline void bench_exit_zeroed(u64 ticks) { (void)ticks; }
static inline void bench_exit_reclaimed(u64 ticks) { (void)ticks; }
static inline void bench_record(enum bench_op op, u64 ticks)
{
	(void)op;
	(void)ticks;
}
static inline void bench_idle(u64 ticks) { (void)ticks; }
static inline void bench_scan_begin(void) {}
static inline void bench_scan_wrapped(u64 pages) { (void)pages; }
static inline void bench_scan_end(void) {}
static inline void bench_report(void) {}

#endif

#endif
