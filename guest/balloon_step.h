/*
 * balloon_step.h - the balloon driver's decision for one tick, as a pure
 * function of what it knows then (tests/test_guest_balloon.c).
 *
 * Inputs: the hypervisor's target, the pages held, the guest's free
 * frames, the reserve the balloon never takes from, how many pages the
 * driver can hold at all, and the per-tick bound.  The answer is a signed
 * page count: > 0 inflate that many, < 0 deflate that many, 0 nothing.
 *
 *   want   = min(target, capacity)
 *   room   = free frames above the reserve (0 if at or below it)
 *   inflate min(want - held, room, per_tick)        when want > held
 *   deflate min(held - want, per_tick)              when want < held
 *   and, whatever the target, when free < reserve and pages are held:
 *   deflate min(held, reserve - free, per_tick): the guest's own needs
 *   come first (a real driver's "deflate on OOM").
 */
#ifndef GUEST_BALLOON_STEP_H
#define GUEST_BALLOON_STEP_H

#include <stdint.h>

/* Frames the balloon leaves free at the least, and RAM/16 above that. */
#define BALLOON_RESERVE_MIN 256
#define BALLOON_RESERVE_DIV 16
/* Pages one tick inflates or deflates at most (one hypercall). */
#define BALLOON_PER_TICK 128

struct balloon_step_in {
	uint64_t target;   /* BALLOON_TARGET's answer (>= 0) */
	uint64_t held;     /* pages in the balloon now */
	uint64_t free;     /* the guest's free frames now */
	uint64_t reserve;  /* free frames never taken */
	uint64_t capacity; /* most pages the driver can hold */
	uint64_t per_tick; /* most pages per step, either way */
};

/* max(BALLOON_RESERVE_MIN, ram_frames / BALLOON_RESERVE_DIV). */
uint64_t balloon_reserve(uint64_t ram_frames);

int64_t balloon_step(const struct balloon_step_in *in);

#endif
