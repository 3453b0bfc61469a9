/*
 * balloon_step.c - the balloon driver's per-tick decision (balloon_step.h
 * has the rule).  Pure C: no hypercall, no state, so every case is a line
 * in a host test table.
 */
#include "balloon_step.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t balloon_reserve(uint64_t ram_frames)
{
	uint64_t r = ram_frames / BALLOON_RESERVE_DIV;
	return r > BALLOON_RESERVE_MIN ? r : BALLOON_RESERVE_MIN;
}

int64_t balloon_step(const struct balloon_step_in *in)
{
	uint64_t want = min_u64(in->target, in->capacity);
	uint64_t room = in->free > in->reserve ? in->free - in->reserve : 0;

	if (in->held && in->free < in->reserve) {
		uint64_t n = min_u64(in->held, in->reserve - in->free);
		if (want < in->held)
			n = n > in->held - want ? n : in->held - want;
		return -(int64_t)min_u64(n, in->per_tick);
	}
	if (want > in->held)
		return (int64_t)min_u64(min_u64(want - in->held, room),
					in->per_tick);
	if (want < in->held)
		return -(int64_t)min_u64(in->held - want, in->per_tick);
	return 0;
}
