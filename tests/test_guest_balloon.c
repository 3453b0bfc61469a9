/*
 * test_guest_balloon.c - the balloon driver's per-tick decision
 * (guest/balloon_step.c): a table of situations and the step each must
 * give, then the reserve's two regimes.
 */
#include "balloon_step.h"
#include "unit.h"

struct step_case {
	uint64_t target, held, free, reserve, capacity, per_tick;
	int64_t want;
	const char *what;
};

static const struct step_case cases[] = {
	/* target  held  free  reserve  cap  tick  step */
	{ 0, 0, 5000, 1024, 10000, 128, 0, "nothing asked, nothing held" },
	{ 100, 0, 5000, 1024, 10000, 128, 100, "small target: all at once" },
	{ 1000, 0, 5000, 1024, 10000, 128, 128, "per-tick bound on inflate" },
	{ 1000, 900, 5000, 1024, 10000, 128, 100, "the last bit of a target" },
	{ 1000, 1000, 5000, 1024, 10000, 128, 0, "at the target" },
	{ 1000, 0, 1100, 1024, 10000, 128, 76, "only what is above the reserve" },
	{ 1000, 0, 1024, 1024, 10000, 128, 0, "free exactly at the reserve" },
	{ 1000, 0, 10, 1024, 10000, 128, 0, "below the reserve, nothing held" },
	{ 20000, 10000, 5000, 1024, 10000, 128, 0, "capacity: no more" },
	{ 20000, 9950, 5000, 1024, 10000, 128, 50, "capacity: up to it" },
	{ 0, 1000, 5000, 1024, 10000, 128, -128, "per-tick bound on deflate" },
	{ 0, 50, 5000, 1024, 10000, 128, -50, "deflate the rest" },
	{ 900, 1000, 5000, 1024, 10000, 128, -100, "target lowered a bit" },
	{ 1000, 1000, 1000, 1024, 10000, 128, -24, "guest short: give back" },
	{ 1000, 10, 0, 1024, 10000, 128, -10, "short, holds less than owed" },
	{ 1000, 1000, 0, 1024, 10000, 128, -128, "short: bounded too" },
	{ 0, 1000, 1000, 1024, 10000, 128, -128,
	  "short and target 0: the larger of the two, bounded" },
	{ 990, 1000, 1020, 1024, 10000, 128, -10,
	  "short by 4, 10 over the target: 10" },
	{ 1000, 0, 5000, 1024, 0, 128, 0, "no capacity" },
	{ 5, 0, 5000, 1024, 10000, 0, 0, "per_tick 0: never moves" },
	{ ~0ull, 0, ~0ull, 0, ~0ull, 128, 128, "huge numbers do not wrap" },
};

TEST(balloon_step_table)
{
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct step_case *t = &cases[i];
		struct balloon_step_in in = {
			.target = t->target, .held = t->held, .free = t->free,
			.reserve = t->reserve, .capacity = t->capacity,
			.per_tick = t->per_tick,
		};
		int64_t got = balloon_step(&in);
		if (got != t->want)
			printf("  case %u (%s): step %lld, expected %lld\n", i,
			       t->what, (long long)got, (long long)t->want);
		CHECK_EQ(got, t->want);
	}
}

/* Following a target to the end never takes the reserve and never
 * overshoots, and coming back down returns every page. */
TEST(balloon_step_converges)
{
	struct balloon_step_in in = { .target = 700, .held = 0, .free = 1500,
				      .reserve = 1024, .capacity = 10000,
				      .per_tick = 128 };
	int steps = 0;
	int64_t s;

	while ((s = balloon_step(&in)) != 0 && steps < 100) {
		in.held += (uint64_t)s;
		in.free -= (uint64_t)s;
		CHECK(in.free >= in.reserve);
		steps++;
	}
	CHECK_EQ(in.held, 476);	/* 1500 - 1024: the reserve stops it */
	CHECK_EQ(steps, 4);	/* 128, 128, 128, 92 */
	in.target = 0;
	steps = 0;
	while ((s = balloon_step(&in)) != 0 && steps < 100) {
		CHECK(s < 0);
		in.held -= (uint64_t)-s;
		in.free += (uint64_t)-s;
		steps++;
	}
	CHECK_EQ(in.held, 0);
	CHECK_EQ(in.free, 1500);
	CHECK_EQ(steps, 4);
}

TEST(balloon_reserve_regimes)
{
	CHECK_EQ(balloon_reserve(0), BALLOON_RESERVE_MIN);
	CHECK_EQ(balloon_reserve(2048), 256);	/* 8 MiB VM: the floor */
	CHECK_EQ(balloon_reserve(4096), 256);	/* 16 MiB: RAM/16 == floor */
	CHECK_EQ(balloon_reserve(16384), 1024);	/* 64 MiB: RAM/16 */
	CHECK_EQ(balloon_reserve(16399), 1024);
}
