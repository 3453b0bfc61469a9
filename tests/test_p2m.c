/*
 * test_p2m.c - mm/p2m.c, the per-VM guest-page table of truth.
 *
 * Every entry is one u64 (state in bits 2:0, P2M_MARK in bit 3, the frame
 * or swap slot << 12 in bits 63:12); the per-state counts must always add
 * up to npages.  Hand-written cases pin down each state and value, the
 * masking of the value, and the scratch mark; a randomized test checks
 * thousands of p2m_set calls against a plain reference array.
 */
#include <stdlib.h>

#include "../mm/p2m.h"
#include "unit.h"

static const enum p2m_state all_states[] = {
	P2M_UNPOPULATED, P2M_PRIVATE, P2M_SHARED, P2M_SWAPPED, P2M_BALLOONED,
};

static u64 count_sum(const struct p2m *p)
{
	u64 sum = 0;
	for (int s = 0; s < P2M_STATE_COUNT; s++)
		sum += p->count[s];
	return sum;
}

/* Recounts the states from the entries themselves. */
static void recount(const struct p2m *p, u64 out[P2M_STATE_COUNT])
{
	for (int s = 0; s < P2M_STATE_COUNT; s++)
		out[s] = 0;
	for (u64 g = 0; g < p->npages; g++)
		out[p2m_state(p, g)]++;
}

/* The counts agree with the entries and add up to npages. */
#define CHECK_COUNTS(p)                                                     \
	do {                                                                \
		u64 rc_[P2M_STATE_COUNT];                                   \
		recount((p), rc_);                                          \
		for (int s_ = 0; s_ < P2M_STATE_COUNT; s_++)                \
			CHECK_EQ((p)->count[s_], rc_[s_]);                  \
		CHECK_EQ(count_sum(p), (p)->npages);                        \
	} while (0)

/* Init zeroes whatever the storage held: every page unpopulated. */
TEST(p2m_init_all_unpopulated)
{
	enum { N = 1000 };
	u64 *st = malloc(N * sizeof(u64));
	memset(st, 0xa5, N * sizeof(u64));	/* garbage: init must clear it */
	struct p2m p;
	memset(&p, 0xff, sizeof(p));
	p2m_init(&p, st, N);
	CHECK(p.entries == st);
	CHECK_EQ(p.npages, N);
	CHECK_EQ(p.count[P2M_UNPOPULATED], N);
	for (int s = 1; s < P2M_STATE_COUNT; s++)
		CHECK_EQ(p.count[s], 0);
	int bad = 0;
	for (u64 g = 0; g < N; g++)
		bad += st[g] != 0 || p2m_state(&p, g) != P2M_UNPOPULATED ||
		       p2m_value(&p, g) != 0 || p2m_marked(&p, g);
	CHECK_EQ(bad, 0);
	CHECK_COUNTS(&p);

	/* An empty p2m is legal too. */
	p2m_init(&p, st, 0);
	CHECK_EQ(p.npages, 0);
	CHECK_EQ(count_sum(&p), 0);
	free(st);
}

/* Each state with a typical value: entry layout, state, value, counts. */
TEST(p2m_set_each_state)
{
	u64 st[16];
	struct p2m p;
	p2m_init(&p, st, 16);

	p2m_set(&p, 1, P2M_PRIVATE, 0x12345000);
	CHECK_EQ(st[1], 0x12345000 | P2M_PRIVATE);
	CHECK_EQ(p2m_state(&p, 1), P2M_PRIVATE);
	CHECK_EQ(p2m_value(&p, 1), 0x12345000);

	p2m_set(&p, 2, P2M_SHARED, 0xfedcba987000ull);
	CHECK_EQ(p2m_state(&p, 2), P2M_SHARED);
	CHECK_EQ(p2m_value(&p, 2), 0xfedcba987000ull);

	/* A swap slot is stored shifted left by 12. */
	u64 slot = 0x1234567;
	p2m_set(&p, 3, P2M_SWAPPED, slot << 12);
	CHECK_EQ(p2m_state(&p, 3), P2M_SWAPPED);
	CHECK_EQ(p2m_value(&p, 3) >> 12, slot);
	p2m_set(&p, 4, P2M_SWAPPED, 0);		/* slot 0 is a slot */
	CHECK_EQ(p2m_state(&p, 4), P2M_SWAPPED);
	CHECK_EQ(p2m_value(&p, 4), 0);

	/* Ballooned keeps whatever value it is given (the old frame until
	 * it is released: hv/hypercall.c). */
	p2m_set(&p, 5, P2M_BALLOONED, 0x5000);
	CHECK_EQ(p2m_state(&p, 5), P2M_BALLOONED);
	CHECK_EQ(p2m_value(&p, 5), 0x5000);
	p2m_set(&p, 6, P2M_BALLOONED, 0);
	CHECK_EQ(p2m_value(&p, 6), 0);

	/* The largest values: every bit of 63:12. */
	p2m_set(&p, 15, P2M_PRIVATE, ~0xfffull);
	CHECK_EQ(p2m_value(&p, 15), 0xfffffffffffff000ull);
	CHECK_EQ(p2m_state(&p, 15), P2M_PRIVATE);
	p2m_set(&p, 14, P2M_SWAPPED, ((1ull << 52) - 1) << 12);
	CHECK_EQ(p2m_value(&p, 14) >> 12, (1ull << 52) - 1);

	CHECK_EQ(p.count[P2M_UNPOPULATED], 16 - 8);
	CHECK_EQ(p.count[P2M_PRIVATE], 2);
	CHECK_EQ(p.count[P2M_SHARED], 1);
	CHECK_EQ(p.count[P2M_SWAPPED], 3);
	CHECK_EQ(p.count[P2M_BALLOONED], 2);
	CHECK_COUNTS(&p);
	/* Untouched neighbours stay zero. */
	CHECK_EQ(st[0], 0);
	CHECK_EQ(st[7], 0);
	CHECK_EQ(st[13], 0);

	/* Back to unpopulated with value 0: an all-zero entry again. */
	for (u64 g = 0; g < 16; g++)
		p2m_set(&p, g, P2M_UNPOPULATED, 0);
	for (u64 g = 0; g < 16; g++)
		CHECK_EQ(st[g], 0);
	CHECK_EQ(p.count[P2M_UNPOPULATED], 16);
	CHECK_COUNTS(&p);
}

/* The low 12 bits of a value never leak into the state or the mark. */
TEST(p2m_set_masks_low_value_bits)
{
	u64 st[4];
	struct p2m p;
	p2m_init(&p, st, 4);
	p2m_set(&p, 0, P2M_UNPOPULATED, 0xabcdefff);	/* low bits all set */
	CHECK_EQ(p2m_state(&p, 0), P2M_UNPOPULATED);
	CHECK_EQ(p2m_value(&p, 0), 0xabcde000);
	CHECK(!p2m_marked(&p, 0));
	p2m_set(&p, 1, P2M_SHARED, 0x1fff);
	CHECK_EQ(st[1], 0x1000 | P2M_SHARED);
	CHECK(!p2m_marked(&p, 1));
	p2m_set(&p, 2, P2M_PRIVATE, 0xf0f);
	CHECK_EQ(st[2], P2M_PRIVATE);
	CHECK_EQ(p.count[P2M_UNPOPULATED], 2);
	CHECK_EQ(p.count[P2M_SHARED], 1);
	CHECK_EQ(p.count[P2M_PRIVATE], 1);
	CHECK_COUNTS(&p);
}

/* Re-setting an entry to the same state moves no count. */
TEST(p2m_set_same_state_and_transitions)
{
	u64 st[3];
	struct p2m p;
	p2m_init(&p, st, 3);
	for (int i = 0; i < 10; i++)
		p2m_set(&p, 1, P2M_PRIVATE, (u64)(i + 1) << 12);
	CHECK_EQ(p2m_value(&p, 1), 10ull << 12);
	CHECK_EQ(p.count[P2M_PRIVATE], 1);
	CHECK_EQ(p.count[P2M_UNPOPULATED], 2);
	/* Every transition between every pair of states. */
	for (unsigned a = 0; a < ARRAY_SIZE(all_states); a++)
		for (unsigned b = 0; b < ARRAY_SIZE(all_states); b++) {
			p2m_set(&p, 2, all_states[a], 0x7000);
			p2m_set(&p, 2, all_states[b], 0x9000);
			CHECK_EQ(p2m_state(&p, 2), all_states[b]);
			CHECK_EQ(p2m_value(&p, 2), 0x9000);
			CHECK_COUNTS(&p);
		}
}

/* The mark is a side bit: state, value and counts never see it, and
 * clearing it restores the exact entry. */
TEST(p2m_mark_is_invisible)
{
	enum { N = 8 };
	u64 st[N];
	struct p2m p;
	p2m_init(&p, st, N);
	for (u64 g = 0; g < N; g++)
		p2m_set(&p, g, all_states[g % P2M_STATE_COUNT],
			(g + 0x100) << 12);
	u64 before[N], counts[P2M_STATE_COUNT];
	memcpy(before, st, sizeof(st));
	memcpy(counts, p.count, sizeof(counts));

	for (u64 g = 0; g < N; g += 2)
		p2m_mark(&p, g, true);
	for (u64 g = 0; g < N; g++) {
		CHECK_EQ(p2m_marked(&p, g), g % 2 == 0);
		CHECK_EQ(p2m_state(&p, g), all_states[g % P2M_STATE_COUNT]);
		CHECK_EQ(p2m_value(&p, g), (g + 0x100) << 12);
	}
	CHECK(memcmp(counts, p.count, sizeof(counts)) == 0);
	CHECK_COUNTS(&p);

	/* Marking twice is idempotent; unmarking an unmarked entry too. */
	p2m_mark(&p, 0, true);
	p2m_mark(&p, 1, false);
	CHECK(p2m_marked(&p, 0));
	CHECK(!p2m_marked(&p, 1));
	CHECK_EQ(st[1], before[1]);

	/* The mark of an unpopulated all-zero entry is still unpopulated. */
	u64 st2[2];
	struct p2m q;
	p2m_init(&q, st2, 2);
	p2m_mark(&q, 1, true);
	CHECK_EQ(p2m_state(&q, 1), P2M_UNPOPULATED);
	CHECK_EQ(p2m_value(&q, 1), 0);
	CHECK(p2m_marked(&q, 1));
	CHECK(!p2m_marked(&q, 0));
	CHECK_COUNTS(&q);

	for (u64 g = 0; g < N; g++)
		p2m_mark(&p, g, false);
	CHECK(memcmp(before, st, sizeof(st)) == 0);
	CHECK(memcmp(counts, p.count, sizeof(counts)) == 0);
}

/* A p2m_set on a marked entry still moves the right counts (the state
 * is read through the mark). */
TEST(p2m_set_on_marked_entry_counts)
{
	u64 st[4];
	struct p2m p;
	p2m_init(&p, st, 4);
	p2m_set(&p, 2, P2M_SHARED, 0x3000);
	p2m_mark(&p, 2, true);
	p2m_set(&p, 2, P2M_SWAPPED, 0x4000);
	CHECK_EQ(p2m_state(&p, 2), P2M_SWAPPED);
	CHECK_EQ(p2m_value(&p, 2), 0x4000);
	CHECK_EQ(p.count[P2M_SHARED], 0);
	CHECK_EQ(p.count[P2M_SWAPPED], 1);
	CHECK_EQ(p.count[P2M_UNPOPULATED], 3);
	CHECK_COUNTS(&p);
}

TEST(p2m_state_names)
{
	CHECK_STR(p2m_state_name(P2M_UNPOPULATED), "unpopulated");
	CHECK_STR(p2m_state_name(P2M_PRIVATE), "private");
	CHECK_STR(p2m_state_name(P2M_SHARED), "shared");
	CHECK_STR(p2m_state_name(P2M_SWAPPED), "swapped");
	CHECK_STR(p2m_state_name(P2M_BALLOONED), "ballooned");
	CHECK_STR(p2m_state_name(P2M_STATE_COUNT), "?");
	CHECK_STR(p2m_state_name((enum p2m_state)-1), "?");
}

/* --- randomized against a reference array -------------------------------- */

static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * 20000 random p2m_set calls (random gfn, state and full 64-bit value,
 * including low garbage bits), with random marks set and cleared in
 * between, over a p2m of 3000 pages.  After every step the touched entry,
 * a random other entry and all per-state counts must match a reference
 * array of (state, value); a full sweep every 1000 steps.
 */
TEST(p2m_random_vs_reference)
{
	enum { N = 3000, OPS = 20000 };
	u64 *st = malloc(N * sizeof(u64));
	struct ref {
		enum p2m_state state;
		u64 value;
		bool marked;
	} *ref = calloc(N, sizeof(*ref));
	u64 rcount[P2M_STATE_COUNT] = { N };
	struct p2m p;
	p2m_init(&p, st, N);

	int bad = 0;
	for (int op = 0; op < OPS && bad < 5; op++) {
		u64 g = rnd() % N;
		if (rnd() % 8 == 0) {	/* toggle a mark */
			bool on = rnd() & 1;
			p2m_mark(&p, g, on);
			ref[g].marked = on;
		} else {
			enum p2m_state s = all_states[rnd() % P2M_STATE_COUNT];
			u64 v = rnd();
			if (rnd() % 4 == 0)
				v = 0;
			p2m_set(&p, g, s, v);
			rcount[ref[g].state]--;
			rcount[s]++;
			ref[g].state = s;
			ref[g].value = v & ~0xfffull;
			ref[g].marked = false;	/* p2m_set writes the whole entry */
		}
		u64 other = rnd() % N;
		u64 check[2] = { g, other };
		for (int k = 0; k < 2; k++) {
			u64 c = check[k];
			if (p2m_state(&p, c) != ref[c].state ||
			    p2m_value(&p, c) != ref[c].value ||
			    p2m_marked(&p, c) != ref[c].marked) {
				printf("  op %d: gfn %llu is %s 0x%llx%s, want "
				       "%s 0x%llx%s\n", op,
				       (unsigned long long)c,
				       p2m_state_name(p2m_state(&p, c)),
				       (unsigned long long)p2m_value(&p, c),
				       p2m_marked(&p, c) ? " marked" : "",
				       p2m_state_name(ref[c].state),
				       (unsigned long long)ref[c].value,
				       ref[c].marked ? " marked" : "");
				bad++;
			}
		}
		for (int s = 0; s < P2M_STATE_COUNT; s++)
			if (p.count[s] != rcount[s]) {
				printf("  op %d: count[%s] %llu, want %llu\n", op,
				       p2m_state_name(s),
				       (unsigned long long)p.count[s],
				       (unsigned long long)rcount[s]);
				bad++;
			}
		if (count_sum(&p) != N)
			bad++;
		if (op % 1000 == 999)
			for (u64 c = 0; c < N; c++)
				bad += p2m_state(&p, c) != ref[c].state ||
				       p2m_value(&p, c) != ref[c].value ||
				       p2m_marked(&p, c) != ref[c].marked;
	}
	CHECK_EQ(bad, 0);
	/* Every state was exercised. */
	for (int s = 0; s < P2M_STATE_COUNT; s++)
		CHECK(rcount[s] > 0);
	CHECK_COUNTS(&p);
	free(st);
	free(ref);
}

/* P2M_MAPPED survives nothing but itself: it does not disturb the state,
 * value or counts, and any p2m_set (a new population, a balloon) clears
 * it, so "mapped since populated" stays true to its name. */
TEST(p2m_mapped_flag)
{
	static u64 store[4];
	struct p2m p;

	p2m_init(&p, store, 4);
	p2m_set(&p, 1, P2M_PRIVATE, 0x5000);
	CHECK(!p2m_flag(&p, 1, P2M_MAPPED));
	p2m_set_flag(&p, 1, P2M_MAPPED);
	CHECK(p2m_flag(&p, 1, P2M_MAPPED));
	CHECK_EQ(p2m_state(&p, 1), P2M_PRIVATE);
	CHECK_EQ(p2m_value(&p, 1), 0x5000);
	CHECK_EQ(p.count[P2M_PRIVATE], 1);
	CHECK(!p2m_marked(&p, 1));
	p2m_set(&p, 1, P2M_BALLOONED, 0);
	CHECK(!p2m_flag(&p, 1, P2M_MAPPED));
	CHECK(!p2m_flag(&p, 0, P2M_MAPPED));
}
