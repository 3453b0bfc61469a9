/*
 * balloon.h - the guest's balloon driver: in every timer tick (or, when no
 * timer runs, every time the guest waits or finishes a workload step) it
 * asks memvisor how many pages it wants (BALLOON_TARGET) and moves the
 * balloon toward that by at most BALLOON_PER_TICK pages, with one
 * INFLATE or DEFLATE (balloon_step.h has the rule and the reserve).
 *
 * The workloads do not know about it: it takes only free frames, never
 * writes them (a written page would be populated in the hypervisor, the
 * very frame it is giving back), and hands deflated frames back to the
 * allocator untouched.  The frame allocator it shares with the demand
 * faults is interrupt-safe (vm.c).  A failed hypercall is recorded, stops
 * the driver, and fails the run at balloon_finish().
 */
#ifndef GUEST_BALLOON_H
#define GUEST_BALLOON_H

#include <stdint.h>

#include "cmdline.h"
#include "work.h"

/* Decides on or off (balloon=off, no memvisor) and registers the tick
 * hook; starts nothing by itself. */
void balloon_init(const struct guest_config *cfg);

/* The per-tick function: the timer hook (IF=0), and callable anywhere
 * else (it turns interrupts off itself).  Does nothing when off, paused,
 * or after a failure. */
void balloon_tick(void);

/* balloon_tick() when no timer runs; nothing when one does (the tick has
 * it).  Called from the guest's idle waits and between workload steps. */
void balloon_poll(void);

int balloon_active(void);    /* on, memvisor present, no failure */
const char *balloon_failure(void); /* the first failure, or 0 */
uint64_t balloon_held(void); /* pages in the balloon now */
uint64_t balloon_peak(void);
uint64_t balloon_tick_count(void); /* times balloon_tick() ran */

/* Pauses and resumes the driver (nests): main.c pauses it for the hostile
 * action, whose checks count MEMSTAT's ballooned pages exactly. */
void balloon_pause(void);
void balloon_resume(void);

/* For the `balloon` workload and hostile=balloon-touch: pauses the driver
 * and lends the unused tail of its gfn array; *room is how many gfns fit
 * there.  balloon_unborrow() resumes the driver. */
uint64_t *balloon_borrow(uint64_t *room);
void balloon_unborrow(void);

/* The end of the run: stops the driver, deflates everything it holds and
 * prints the summary line.  WORK_FAIL (with the reason in c) if any
 * hypercall of the driver failed. */
int balloon_finish(struct work_ctx *c);

#endif
