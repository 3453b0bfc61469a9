/*
 * test_pool.c - the guest-memory pool (mm/pool.c) alone, then together with
 * several VMs' p2m tables (mm/p2m.c) in a randomized model test: random
 * populate / drop / balloon / teardown steps, checked after every step
 * against a plain reference model and against the invariants the
 * hypervisor relies on:
 *
 *   - every pool frame is free, or owned by exactly one (VM, gfn) whose p2m
 *     entry points back at it;
 *   - the pool's free count equals the frames on its free list, and
 *     frames - free equals the PRIVATE pages of all VMs;
 *   - each VM's per-state p2m counts add up to its page count.
 */
#include <stdlib.h>

#include "unit.h"
#include "../mm/p2m.h"
#include "../mm/pool.h"

#define BASE 0x40000000ull	/* a made-up physical address for frame 0 */

static struct pool pool;
static struct frame_meta meta[64];

TEST(pool_init_all_free)
{
	pool_init(&pool, BASE, 64, meta);
	CHECK_EQ(pool.st.frames, 64);
	CHECK_EQ(pool.st.free, 64);
	CHECK_EQ(pool_used(&pool), 0);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(meta[i].state, FRAME_FREE);
	CHECK_EQ(sizeof(struct frame_meta), 16);
}

TEST(pool_alloc_records_owner_and_gfn)
{
	pool_init(&pool, BASE, 64, meta);
	u64 a = pool_alloc(&pool, 3, 0x1234);
	CHECK_EQ(a, BASE);	/* lowest first */
	struct frame_meta *m = pool_meta(&pool, a);
	CHECK(m != NULL);
	CHECK_EQ(m->owner, 4);	/* id + 1 */
	CHECK_EQ(m->gfn, 0x1234);
	CHECK_EQ(m->state, FRAME_PRIVATE);
	CHECK_EQ(m->scanned, 0);	/* no content hash yet */
	CHECK_EQ(m->hashed, 0);
	CHECK_EQ(pool.st.free, 63);
	CHECK_EQ(pool.st.high_water, 1);
}

TEST(pool_exhaustion_and_reuse)
{
	u64 got[64];

	pool_init(&pool, BASE, 64, meta);
	for (int i = 0; i < 64; i++) {
		got[i] = pool_alloc(&pool, 0, (u64)i);
		CHECK_EQ(got[i], BASE + (u64)i * 4096);
	}
	CHECK_EQ(pool_alloc(&pool, 0, 99), 0);
	CHECK_EQ(pool.st.failures, 1);
	CHECK_EQ(pool_free(&pool, got[10]), 0);
	CHECK_EQ(pool_alloc(&pool, 1, 7), got[10]);	/* LIFO */
	CHECK_EQ(pool.st.high_water, 64);
}

TEST(pool_free_rejects_bad_frames)
{
	pool_init(&pool, BASE, 64, meta);
	u64 a = pool_alloc(&pool, 0, 1);
	CHECK_EQ(pool_free(&pool, a), 0);
	CHECK_EQ(pool_free(&pool, a), -1);		/* double free */
	CHECK_EQ(pool_free(&pool, BASE + 4096), -1);	/* never allocated */
	CHECK_EQ(pool_free(&pool, BASE - 4096), -1);	/* below the pool */
	CHECK_EQ(pool_free(&pool, BASE + 64 * 4096), -1);	/* above */
	CHECK_EQ(pool_free(&pool, BASE + 8), -1);	/* unaligned */
	CHECK_EQ(pool.st.free, 64);
}

TEST(pool_owner_limit)
{
	pool_init(&pool, BASE, 64, meta);
	CHECK(pool_alloc(&pool, POOL_OWNER_MAX, 0) != 0);
	CHECK_EQ(pool_alloc(&pool, POOL_OWNER_MAX + 1, 0), 0);
}

/* ---- the model test ---------------------------------------------------- */

#define VMS 4
#define PAGES 96
#define FRAMES 160	/* less than VMS * PAGES: overcommitted */

static struct frame_meta big_meta[FRAMES];
static u64 p2m_store[VMS][PAGES];
static struct p2m p2ms[VMS];

/* The reference: which frame index (or -1) each guest page has. */
static int ref_frame[VMS][PAGES];
static bool ref_ballooned[VMS][PAGES];

static int failures_before;

static void check_invariants(int step)
{
	int owners[FRAMES];
	u64 private_pages = 0;

	for (int f = 0; f < FRAMES; f++)
		owners[f] = 0;
	for (int v = 0; v < VMS; v++) {
		u64 sum = 0;
		for (int s = 0; s < P2M_STATE_COUNT; s++)
			sum += p2ms[v].count[s];
		CHECK_EQ(sum, PAGES);
		for (int g = 0; g < PAGES; g++) {
			enum p2m_state st = p2m_state(&p2ms[v], (u64)g);
			if (ref_frame[v][g] >= 0) {
				u64 hpa = BASE + (u64)ref_frame[v][g] * 4096;
				CHECK_EQ(st, P2M_PRIVATE);
				CHECK_EQ(p2m_value(&p2ms[v], (u64)g), hpa);
				struct frame_meta *m = pool_meta(&pool, hpa);
				CHECK(m && m->state == FRAME_PRIVATE);
				CHECK(m && m->owner == (u64)v + 1);
				CHECK(m && m->gfn == (u64)g);
				owners[ref_frame[v][g]]++;
				private_pages++;
			} else if (ref_ballooned[v][g]) {
				CHECK_EQ(st, P2M_BALLOONED);
			} else {
				CHECK_EQ(st, P2M_UNPOPULATED);
			}
			CHECK(!p2m_marked(&p2ms[v], (u64)g));
		}
	}
	/* Exactly one owner or free, and the free list has every free one. */
	u64 on_list = 0;
	for (u32 i = pool.free_head; i; i = big_meta[i - 1].link) {
		CHECK_EQ(big_meta[i - 1].state, FRAME_FREE);
		CHECK_EQ(owners[i - 1], 0);
		owners[i - 1] = -1;	/* seen on the list */
		if (++on_list > FRAMES)
			break;		/* a cycle: reported below */
	}
	for (int f = 0; f < FRAMES; f++)
		CHECK(owners[f] == 1 || owners[f] == -1);
	CHECK_EQ(on_list, pool.st.free);
	CHECK_EQ(pool_used(&pool), private_pages);
	if (unit_failed_checks != failures_before) {
		printf("  invariants broken after step %d\n", step);
		failures_before = unit_failed_checks;
	}
}

static void populate(int v, int g)
{
	if (ref_frame[v][g] >= 0)
		return;
	u64 hpa = pool_alloc(&pool, (unsigned)v, (u64)g);
	if (!hpa) {
		CHECK_EQ(pool.st.free, 0);	/* only fails when empty */
		return;
	}
	p2m_set(&p2ms[v], (u64)g, P2M_PRIVATE, hpa);
	ref_frame[v][g] = (int)((hpa - BASE) / 4096);
	ref_ballooned[v][g] = false;
}

static void drop(int v, int g, bool balloon)
{
	if (ref_frame[v][g] >= 0) {
		CHECK_EQ(pool_free(&pool, p2m_value(&p2ms[v], (u64)g)), 0);
		ref_frame[v][g] = -1;
	}
	p2m_set(&p2ms[v], (u64)g, balloon ? P2M_BALLOONED : P2M_UNPOPULATED,
		0);
	ref_ballooned[v][g] = balloon;
}

static void teardown(int v)
{
	for (int g = 0; g < PAGES; g++)
		drop(v, g, false);
}

TEST(pool_p2m_model_random)
{
	srand(12345);
	pool_init(&pool, BASE, FRAMES, big_meta);
	for (int v = 0; v < VMS; v++) {
		p2m_init(&p2ms[v], p2m_store[v], PAGES);
		for (int g = 0; g < PAGES; g++) {
			ref_frame[v][g] = -1;
			ref_ballooned[v][g] = false;
		}
	}
	failures_before = unit_failed_checks;
	for (int step = 0; step < 20000; step++) {
		int v = rand() % VMS, g = rand() % PAGES, op = rand() % 100;
		if (op < 55)
			populate(v, g);
		else if (op < 85)
			drop(v, g, false);
		else if (op < 98)
			drop(v, g, true);
		else
			teardown(v);
		/* A mark set and cleared in between must leave no trace. */
		if (op % 7 == 0) {
			p2m_mark(&p2ms[v], (u64)g, true);
			p2m_mark(&p2ms[v], (u64)g, false);
		}
		check_invariants(step);
	}
	for (int v = 0; v < VMS; v++)
		teardown(v);
	check_invariants(-1);
	CHECK_EQ(pool.st.free, FRAMES);
	CHECK(pool.st.failures > 0);	/* the overcommit was exercised */
	CHECK_EQ(pool.st.high_water, FRAMES);
}
